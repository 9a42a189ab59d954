"""Generated experiment and trial bodies never get a 5xx: each is stored (201,
and read back as sent) or refused with a 400 naming fields. The bodies are built
to reach what the OpenAPI document cannot say: NUL characters, lone surrogates,
NaN and Infinity, integers past 64 bits, nesting around the depth limit,
template tricks, and bytes that are not UTF-8. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from kallisti.domain.secrets import mask_secret_fields
from support import ServiceThread

EXAMPLES = 60
JSON = {"content-type": "application/json"}

_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _mostly(
    usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any], one_in: int
) -> st.SearchStrategy[Any]:
    """`usual`, and `odd` about once in `one_in` (a power of two) draws: most
    bodies stay valid enough to reach the database, where odd values used to
    give a 500. Coin flips, because hypothesis favours the ends of a range."""
    flips = st.tuples(*[st.booleans()] * (one_in.bit_length() - 1))
    return flips.flatmap(lambda heads: odd if all(heads) else usual)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00")
    | st.sampled_from(["{", "}", "%", ".", " ", "\u202e", "\u2028", "🐒"]),
    max_size=24,
)
_ODD_TEXT = st.builds(
    "{}{}{}".format, _TEXT, st.sampled_from(["\x00", "\ud800", "\udfff"]), _TEXT
)
_ATTACKS = st.sampled_from(
    [
        "{{ x.__class__ }}",
        "{{ x['__class__'] }}",
        "{{ x | attr('y') }}",
        "{{ lipsum.__globals__ }}",
        "{% for x in y %}{% endfor %}",
        "{{",
        "}}{{",
        "{{ x() }}",
    ]
)
_SCALARS = _mostly(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
    | st.sampled_from(["{{ name }}", "{{name}}-{{ other_1 }}", "{# note #}"]),
    st.integers(min_value=2**64, max_value=2**70)
    | st.integers(min_value=-(2**70), max_value=-(2**63) - 1)
    | st.sampled_from([float("nan"), float("inf"), float("-inf")])
    | _ODD_TEXT
    | _ATTACKS,
    one_in=64,
)
_KEYS = _mostly(_TEXT, _ODD_TEXT, one_in=32)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4)
    ),
    max_leaves=10,
)
_OBJECTS = _mostly(
    st.dictionaries(_KEYS, _VALUES, max_size=5),
    st.integers(28, 36).map(_nested) | _VALUES,
    one_in=64,
)
_EXPECT = _mostly(
    st.fixed_dictionaries(
        {"operator": st.sampled_from(["eq", "ne", "lt", "ge"])}
    ).flatmap(
        lambda entry: st.sampled_from(
            ["value", "status_code", "response.data.id"]
        ).flatmap(lambda field: _SCALARS.map(lambda v: {**entry, field: v}))
    ),
    st.fixed_dictionaries(
        {"operator": st.sampled_from(["regex", "is", ""]) | _VALUES},
        optional={"value": _VALUES, "a..b": _VALUES, "status_code": _VALUES},
    )
    | _VALUES,
    one_in=64,
)
_STEP = st.fixed_dictionaries(
    {
        "do": _mostly(
            st.sampled_from(["cm.wait", "cm.http_probe", "aws.ec2.stop_instance"]),
            st.sampled_from(["cm", "cm.", ".wait", "1.x", "cm.wait()"]) | _VALUES,
            one_in=32,
        ),
        "where": _OBJECTS,
    },
    optional={
        "step": _mostly(_TEXT, _VALUES | _ODD_TEXT, one_in=32),
        "expect": _mostly(st.lists(_EXPECT, max_size=3), _VALUES, one_in=32),
        "timeout_seconds": _mostly(
            st.floats(min_value=0.001, max_value=3600), _VALUES, one_in=16
        ),
    },
)
_STEPS = _mostly(st.lists(_STEP, min_size=1, max_size=3), _VALUES, one_in=32)
_FIELDS = st.fixed_dictionaries(
    {
        "name": _mostly(
            _TEXT.filter(str.strip), _VALUES | _ODD_TEXT | st.just(" "), one_in=32
        ),
        "steps": _STEPS,
    },
    optional={
        "description": _mostly(_TEXT, _VALUES | _ODD_TEXT, one_in=32),
        "metadata": _OBJECTS,
        "parameters": _OBJECTS,
        "pre_steps": _STEPS,
        "post_steps": _STEPS,
    },
)
_EXPERIMENT = _mostly(
    _FIELDS,
    st.builds(lambda body, extra: {**body, "owner": extra}, _FIELDS, _VALUES),
    one_in=16,
)


@st.composite
def _encoded(draw: st.DrawFn, body: st.SearchStrategy[Any]) -> tuple[Any, bytes]:
    """A body and its JSON bytes: NaN written as `NaN`, lone surrogates either
    escaped (valid JSON) or raw (not UTF-8)."""
    value = draw(body)
    ascii_only = draw(st.booleans())
    text = json.dumps(value, allow_nan=True, ensure_ascii=ascii_only)
    return value, text.encode("utf-8", "surrogatepass")


def _same_json(sent: Any, stored: Any) -> bool:
    """Equal as JSON: numbers by value, since PostgreSQL keeps numbers as
    `numeric` and may answer 6.4e16 as 64000000000000000."""
    if isinstance(sent, bool) or isinstance(stored, bool):
        return sent is stored
    if isinstance(sent, int | float) and isinstance(stored, int | float):
        return Decimal(repr(sent)) == Decimal(repr(stored))
    if isinstance(sent, dict) and isinstance(stored, dict):
        return sent.keys() == stored.keys() and all(
            _same_json(sent[key], stored[key]) for key in sent
        )
    if isinstance(sent, list) and isinstance(stored, list):
        return len(sent) == len(stored) and all(map(_same_json, sent, stored))
    return bool(sent == stored)


def _answered(sent: Any) -> Any:
    """What the API answers for a stored object: the values under keys that
    name a secret (`AUTH`, `db_password`) masked, as everywhere."""
    return mask_secret_fields(sent)


def _assert_refused_or_stored(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON when stored; None when refused with named fields."""
    event(f"answered {response.status_code}")
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 201, 400), response.text
    answer = response.json()
    if response.status_code == 400:
        assert answer["errors"], answer
        assert all(isinstance(e["field"], str) and e["field"] for e in answer["errors"])
        return None
    assert isinstance(answer, dict)
    return answer


def test_generated_experiments_are_stored_as_sent_or_refused_by_field(
    service: ServiceThread,
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as api:

        @given(_encoded(_EXPERIMENT))
        @_SETTINGS
        def post(sent: tuple[Any, bytes]) -> None:
            body, content = sent
            response = api.post("/api/v1/experiment", content=content, headers=JSON)
            created = _assert_refused_or_stored(response)
            if created is None:
                return
            stored = api.get(f"/api/v1/experiment/{created['id']}").json()
            # Python's strip() also takes \x1c-\x1f, which are not Unicode
            # whitespace; the stored name was trimmed of Unicode whitespace.
            assert stored["name"].strip() == body["name"].strip()
            # Kallisti answers "" for a description left out; null is a 400.
            assert stored["description"] == body.get("description", "")
            assert _same_json(_answered(body.get("metadata", {})), stored["metadata"])
            assert len(stored["steps"]) == len(body["steps"])

        post()


def test_generated_patches_change_what_they_say_or_are_refused_by_field(
    service: ServiceThread,
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as api:
        created = api.post(
            "/api/v1/experiment",
            json={"name": "patched", "steps": [{"do": "cm.wait", "where": {}}]},
        ).json()
        path = f"/api/v1/experiment/{created['id']}"

        @given(_encoded(_EXPERIMENT))
        @_SETTINGS
        def patch(sent: tuple[Any, bytes]) -> None:
            body, content = sent
            before = api.get(path).json()
            patched = _assert_refused_or_stored(
                api.patch(path, content=content, headers=JSON)
            )
            after = api.get(path).json()
            if patched is None:
                assert after == before, "a refused PATCH changed the experiment"
                return
            # A change's answer adds its warnings (A1); a read has none.
            assert after == {k: v for k, v in patched.items() if k != "warnings"}
            if "metadata" in body:
                assert _same_json(_answered(body["metadata"]), after["metadata"])
            if "description" in body:
                assert after["description"] == body["description"]

        patch()


def test_generated_trials_are_stored_as_sent_or_refused_by_field(
    service: ServiceThread,
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as api:
        experiment = api.post(
            "/api/v1/experiment",
            json={
                "name": "generated trials",
                "metadata": {"team": "sre"},
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
            },
        ).json()
        trial_body = st.fixed_dictionaries(
            {"experiment": _mostly(st.just(experiment["id"]), _VALUES, one_in=32)},
            optional={
                "parameters": _OBJECTS,
                "metadata": _OBJECTS,
                "ticket": _OBJECTS,
                "dry_run": _mostly(st.booleans(), _VALUES, one_in=16),
            },
        )

        secret_named = {
            "experiment": experiment["id"],
            "metadata": {"AUTH": 0},
            "ticket": {"AUTH": 0},
        }

        @given(_encoded(trial_body))
        @example((secret_named, json.dumps(secret_named).encode()))
        @_SETTINGS
        def post(sent: tuple[Any, bytes]) -> None:
            body, content = sent
            response = api.post("/api/v1/trial", content=content, headers=JSON)
            created = _assert_refused_or_stored(response)
            if created is None:
                return
            stored = api.get(f"/api/v1/trial/{created['id']}").json()
            metadata = {"team": "sre", **body.get("metadata", {})}
            assert _same_json(_answered(metadata), stored["metadata"])
            assert _same_json(_answered(body.get("ticket", {})), stored["ticket"])

        post()
