"""Bad input never gives a 500: every invalid body is a 400 whose JSON names the
bad field(s), an oversize body is a 413, an id that cannot exist is a 404; odd
but valid input (unicode, huge numbers, long strings) is stored as sent. On
SQLite and PostgreSQL, which refuse different things (PostgreSQL takes no NUL
character, no lone surrogate and no NaN), so the API refuses them first."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import ProbeTarget, ServiceThread

EXPERIMENTS = "/api/v1/experiment"
TRIALS = "/api/v1/trial"
WAIT = {"do": "cm.wait", "where": {"time_in_seconds": 0}}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def api(service: ServiceThread) -> Iterator[httpx.Client]:
    """One client for this module's few hundred short requests per backend:
    building one per test costs ~30 ms (its TLS context), more than the test."""
    with httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _step(**fields: Any) -> dict[str, Any]:
    return {**WAIT, **fields}


def _body(**fields: Any) -> dict[str, Any]:
    return {"name": "bad input", "steps": [WAIT], **fields}


def _without(field: str) -> dict[str, Any]:
    body = _body()
    del body[field]
    return body


def _raw(text: str) -> bytes:
    """A body with JSON Python's encoder will not write (NaN, escapes)."""
    return text.encode()


def assert_names_fields(response: httpx.Response, *fields: str) -> None:
    """A 400 in the API's error shape that names each of `fields`."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str)
    named = [error["field"] for error in body["errors"]]
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])
    for field in fields:
        assert field in named, f"{field!r} not named in {body}"


EXPERIMENT_BODIES: list[Any] = [
    pytest.param(_without("name"), ["name"], id="name-missing"),
    pytest.param(_body(name="   "), ["name"], id="name-blank"),
    pytest.param(_body(name=42), ["name"], id="name-not-a-string"),
    pytest.param(_body(name="n" * 256), ["name"], id="name-too-long"),
    pytest.param(_body(name="a\x00b"), ["name"], id="name-with-nul"),
    pytest.param(_without("steps"), ["steps"], id="steps-missing"),
    pytest.param(_body(steps="cm.wait"), ["steps"], id="steps-not-a-list"),
    pytest.param(_body(steps=[WAIT] * 501), ["steps"], id="steps-too-many"),
    pytest.param(_body(steps=["cm.wait"]), ["steps.0"], id="step-not-an-object"),
    pytest.param(_body(steps=[{"where": {}}]), ["steps.0.do"], id="do-missing"),
    pytest.param(_body(steps=[_step(do="cm")]), ["steps.0.do"], id="do-one-part"),
    pytest.param(_body(steps=[_step(do="cm..wait")]), ["steps.0.do"], id="do-empty"),
    pytest.param(_body(steps=[_step(do="1.x")]), ["steps.0.do"], id="do-digit"),
    pytest.param(
        _body(steps=[_step(do="os.system;rm -rf /")]), ["steps.0.do"], id="do-shell"
    ),
    pytest.param(_body(steps=[_step(do=7)]), ["steps.0.do"], id="do-not-a-string"),
    pytest.param(
        _body(steps=[{"do": "cm.wait"}]), ["steps.0.where"], id="where-missing"
    ),
    pytest.param(
        _body(steps=[_step(where=[])]), ["steps.0.where"], id="where-not-an-object"
    ),
    pytest.param(
        _body(steps=[_step(where=_nested(40))]), ["steps.0.where"], id="where-depth-40"
    ),
    pytest.param(
        _body(steps=[_step(where={"k\x00": 1})]), ["steps.0.where"], id="where-nul-key"
    ),
    pytest.param(
        _body(steps=[_step(where={"url": "a\x00"})]),
        ["steps.0.where"],
        id="where-nul-value",
    ),
    pytest.param(
        _body(steps=[_step(expect=[{"operator": "like", "value": 1}])]),
        ["steps.0.expect"],
        id="expect-bad-operator",
    ),
    pytest.param(
        _body(steps=[_step(expect=[{"value": 1}])]),
        ["steps.0.expect"],
        id="expect-no-operator",
    ),
    pytest.param(
        _body(steps=[_step(expect=[{"operator": "eq"}])]),
        ["steps.0.expect"],
        id="expect-no-field",
    ),
    pytest.param(
        _body(steps=[_step(expect=[{"operator": "eq", "a": 1, "b": 2}])]),
        ["steps.0.expect"],
        id="expect-two-fields",
    ),
    pytest.param(
        _body(steps=[_step(expect=[{"operator": "regex", "value": "("}])]),
        ["steps.0.expect"],
        id="expect-bad-regex",
    ),
    pytest.param(
        _body(steps=[_step(expect={"operator": "eq", "value": 1})]),
        ["steps.0.expect"],
        id="expect-not-a-list",
    ),
    pytest.param(
        _body(steps=[_step(expect=["eq"])]), ["steps.0.expect.0"], id="expect-string"
    ),
    pytest.param(
        _body(steps=[_step(timeout_seconds=0)]),
        ["steps.0.timeout_seconds"],
        id="timeout-zero",
    ),
    pytest.param(
        _body(steps=[_step(timeout_seconds="soon")]),
        ["steps.0.timeout_seconds"],
        id="timeout-not-a-number",
    ),
    pytest.param(
        _body(steps=[_step(timeout_seconds=10**30)]),
        ["steps.0.timeout_seconds"],
        id="timeout-huge",
    ),
    pytest.param(_body(owner="me"), ["owner"], id="unknown-field"),
    pytest.param(_body(id=str(uuid.uuid4())), ["id"], id="read-only-id"),
    pytest.param(
        _body(steps=[_step(retries=3)]), ["steps.0.retries"], id="unknown-step-field"
    ),
    pytest.param(
        _body(pre_steps=[{"do": "cm"}]),
        ["pre_steps.0.do", "pre_steps.0.where"],
        id="bad-pre-step",
    ),
    pytest.param(
        _body(post_steps=[{"do": "cm.wait", "where": 1}]),
        ["post_steps.0.where"],
        id="bad-post-step",
    ),
    pytest.param(_body(metadata=["a"]), ["metadata"], id="metadata-not-an-object"),
    pytest.param(_body(metadata=_nested(40)), ["metadata"], id="metadata-depth-40"),
    pytest.param(_body(metadata={"\x00": 1}), ["metadata"], id="metadata-nul-key"),
    pytest.param(_body(parameters="x"), ["parameters"], id="parameters-not-an-object"),
    pytest.param(_body(parameters={"n": 2**64}), ["parameters"], id="int-over-64-bits"),
    pytest.param(
        _body(metadata={"n": [-(2**63) - 1]}), ["metadata"], id="int-under-64-bits"
    ),
    pytest.param(
        _body(steps=[_step(where={"n": 10**400})]),
        ["steps.0.where"],
        id="int-of-400-digits",
    ),
    pytest.param(_body(description=5), ["description"], id="description-number"),
    pytest.param(
        _body(description="d" * 10_001), ["description"], id="description-too-long"
    ),
    pytest.param(_body(description="\x00"), ["description"], id="description-nul"),
    pytest.param(_body(steps=[_step(step="\x00")]), ["steps.0.step"], id="title-nul"),
    pytest.param(
        _body(name=7, steps={}, metadata=3),
        ["name", "steps", "metadata"],
        id="several-fields",
    ),
]

TEMPLATE_ATTACKS = [
    "{{ url",
    "{{ }}",
    "{% if %}",
    "{{ x.__class__ }}",
    "{{ x.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ x | attr('__class__') }}",
    "{{ x['__class__'] }}",
    "{{ config.items() }}",
    "{% import 'os' as os %}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{% endfor %}",
    "{{ 7 * 7 }}",
    "{{ x() }}",
]

RAW_EXPERIMENT_BODIES = [
    pytest.param(b"{bad", ["body"], id="malformed"),
    pytest.param(b'{"name": "x"', ["body"], id="truncated"),
    pytest.param(b'{"name": "x", "steps": []} trailing', ["body"], id="trailing"),
    pytest.param(b"", ["body"], id="empty"),
    pytest.param(b"null", ["body"], id="null"),
    pytest.param(b'["name"]', ["body"], id="array"),
    pytest.param(b'"name"', ["body"], id="string"),
    pytest.param(b"[" * 10_000 + b"]" * 10_000, ["body"], id="depth-10000-array"),
    pytest.param(
        b'{"name": "x", "metadata": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_001,
        ["body"],
        id="depth-10000-object",
    ),
    pytest.param(b'{"name": "\xff\xfe"}', ["body"], id="not-utf-8"),
    pytest.param(
        b'{"name": "x", "steps": [], "metadata": {"n": 1' + b"0" * 5000 + b"}}",
        ["body"],
        id="integer-over-4300-digits",
    ),
    pytest.param(
        _raw('{"name": "x", "steps": [{"do": "cm.wait", "where": {"s": NaN}}]}'),
        ["steps.0.where"],
        id="nan",
    ),
    pytest.param(
        _raw(
            '{"name": "x", "steps": [{"do": "cm.wait", "where": {}}],'
            ' "parameters": {"p": Infinity}}'
        ),
        ["parameters"],
        id="infinity",
    ),
    pytest.param(
        _raw(
            '{"name": "x", "steps": [{"do": "cm.wait", "where": {},'
            ' "timeout_seconds": -Infinity}]}'
        ),
        ["steps.0.timeout_seconds"],
        id="minus-infinity-timeout",
    ),
    pytest.param(
        _raw(
            '{"name": "x", "steps": [{"do": "cm.wait", "where": {}}],'
            ' "metadata": {"big": 1e400}}'
        ),
        ["metadata"],
        id="float-overflows-to-infinity",
    ),
    pytest.param(
        _raw(
            '{"name": "x", "steps": [{"do": "cm.wait", "where": {},'
            ' "expect": [{"operator": "eq", "value": NaN}]}]}'
        ),
        ["steps.0.expect.0"],
        id="nan-in-expect",
    ),
    pytest.param(
        _raw('{"name": "\\ud800", "steps": [{"do": "cm.wait", "where": {}}]}'),
        ["name"],
        id="lone-surrogate-name",
    ),
    pytest.param(
        _raw('{"name": "x", "steps": [{"do": "cm.wait", "where": {"\\udc00": "v"}}]}'),
        ["steps.0.where"],
        id="lone-surrogate-key",
    ),
    pytest.param(
        _raw(
            '{"name": "x", "steps": [{"do": "cm.wait", "where": {}}],'
            ' "metadata": {"k": ["\\ud83d"]}}'
        ),
        ["metadata"],
        id="lone-surrogate-value",
    ),
    pytest.param(
        _raw('{"name": "x", "steps": [{"do": "cm.wait", "where": {"k": "\\u0000"}}]}'),
        ["steps.0.where"],
        id="escaped-nul",
    ),
]


@pytest.fixture(params=["create", "replace"])
def experiment_target(
    request: pytest.FixtureRequest, api: httpx.Client
) -> Iterator[tuple[str, str]]:
    """Where an experiment body goes: POST a new one, or PUT over one."""
    if request.param == "create":
        yield "POST", EXPERIMENTS
        return
    created = api.post(EXPERIMENTS, json=_body(name="replace me")).json()
    created.pop("warnings")  # A1: change answers carry warnings, reads do not
    path = f"{EXPERIMENTS}/{created['id']}"
    yield "PUT", path
    assert api.get(path).json() == created, "a refused PUT changed the experiment"


@pytest.mark.parametrize(("body", "fields"), EXPERIMENT_BODIES)
def test_an_invalid_experiment_is_400_naming_the_field(
    api: httpx.Client,
    experiment_target: tuple[str, str],
    body: dict[str, Any],
    fields: list[str],
) -> None:
    method, path = experiment_target

    response = api.request(method, path, json=body)

    assert_names_fields(response, *fields)


@pytest.mark.parametrize("template", TEMPLATE_ATTACKS)
def test_a_template_beyond_a_plain_name_is_400_naming_where(
    api: httpx.Client, template: str
) -> None:
    body = _body(steps=[_step(where={"url": {"list": [template]}})])

    response = api.post(EXPERIMENTS, json=body)

    assert_names_fields(response, "steps.0.where")


@pytest.mark.parametrize(("content", "fields"), RAW_EXPERIMENT_BODIES)
def test_a_body_that_is_not_storable_json_is_400(
    api: httpx.Client,
    experiment_target: tuple[str, str],
    content: bytes,
    fields: list[str],
) -> None:
    method, path = experiment_target

    response = api.request(method, path, content=content, headers=JSON)

    assert_names_fields(response, *fields)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"],
)
def test_a_body_that_is_not_sent_as_json_is_400_naming_the_body(
    api: httpx.Client, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}

    response = api.post(
        EXPERIMENTS, content=json.dumps(_body()).encode(), headers=headers
    )

    assert_names_fields(response, "body")
    assert "application/json" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"steps": None}, ["steps"], id="steps-null"),
        pytest.param({"name": 5}, ["name"], id="name-not-a-string"),
        pytest.param({"owner": "me"}, ["owner"], id="unknown-field"),
        pytest.param({"metadata": {"x": "\x00"}}, ["metadata"], id="nul"),
        pytest.param(
            {"steps": [{"do": "cm.wait", "where": {"u": "{{ a.__class__ }}"}}]},
            ["steps.0.where"],
            id="template",
        ),
    ],
)
def test_an_invalid_patch_is_400_and_changes_nothing(
    api: httpx.Client, body: dict[str, Any], fields: list[str]
) -> None:
    created = api.post(EXPERIMENTS, json=_body()).json()
    created.pop("warnings")  # A1: change answers carry warnings, reads do not
    path = f"{EXPERIMENTS}/{created['id']}"

    response = api.patch(path, json=body)

    assert_names_fields(response, *fields)
    assert api.get(path).json() == created


@pytest.fixture
def experiment_id(api: httpx.Client) -> str:
    created: dict[str, Any] = api.post(EXPERIMENTS, json=_body()).json()
    created.pop("warnings")  # A1: change answers carry warnings, reads do not
    return str(created["id"])


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        pytest.param({"experiment": None}, ["experiment"], id="experiment-null"),
        pytest.param({"experiment": "abc"}, ["experiment"], id="experiment-not-a-uuid"),
        pytest.param({"experiment": 12}, ["experiment"], id="experiment-number"),
        pytest.param({"parameters": []}, ["parameters"], id="parameters-list"),
        pytest.param({"metadata": "x"}, ["metadata"], id="metadata-string"),
        pytest.param({"ticket": 1}, ["ticket"], id="ticket-number"),
        pytest.param({"metadata": {"k": "\x00"}}, ["metadata"], id="metadata-nul"),
        pytest.param({"parameters": _nested(40)}, ["parameters"], id="depth-40"),
        pytest.param({"status": "Succeeded"}, ["status"], id="status-not-settable"),
        pytest.param({"dry_run": "maybe"}, ["dry_run"], id="dry-run-not-a-bool"),
    ],
)
def test_an_invalid_trial_is_400_naming_the_field(
    api: httpx.Client, experiment_id: str, fields: dict[str, Any], named: list[str]
) -> None:
    response = api.post(TRIALS, json={"experiment": experiment_id, **fields})

    assert_names_fields(response, *named)
    listed = api.get(TRIALS, params={"experiment": experiment_id}).json()
    assert listed == [], "a refused trial was recorded"


def test_a_trial_without_an_experiment_is_400_naming_experiment(
    api: httpx.Client,
) -> None:
    assert_names_fields(api.post(TRIALS, json={}), "experiment")


@pytest.mark.parametrize(
    "text",
    [
        '{"experiment": "%s", "parameters": {"p": NaN}}',
        '{"experiment": "%s", "metadata": {"m": -Infinity}}',
        '{"experiment": "%s", "ticket": {"t": "\\ud800"}}',
    ],
)
def test_a_trial_with_unstorable_json_is_400(
    api: httpx.Client, experiment_id: str, text: str
) -> None:
    response = api.post(TRIALS, content=_raw(text % experiment_id), headers=JSON)

    assert response.status_code == 400, response.text


BAD_IDS = [
    "not-a-uuid",
    "1",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "1%20OR%201=1",
    "x" * 10_000,
    "00000000-0000-0000-0000-00000000000g",
]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", EXPERIMENTS + "/{}"),
        ("PUT", EXPERIMENTS + "/{}"),
        ("PATCH", EXPERIMENTS + "/{}"),
        ("DELETE", EXPERIMENTS + "/{}"),
        ("GET", TRIALS + "/{}"),
        ("PUT", TRIALS + "/{}/stop"),
    ],
)
def test_a_path_id_that_cannot_exist_is_404(
    api: httpx.Client, method: str, template: str, bad_id: str
) -> None:
    body = _body() if method in ("PUT", "PATCH") and "stop" not in template else None

    response = api.request(method, template.format(bad_id), json=body)

    assert response.status_code == 404, response.text
    assert "not found" in response.json()["detail"].lower()


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (EXPERIMENTS, "limit=abc", "limit"),
        (EXPERIMENTS, "limit=0", "limit"),
        (EXPERIMENTS, "limit=-1", "limit"),
        (EXPERIMENTS, "limit=1.5", "limit"),
        (EXPERIMENTS, "limit=1001", "limit"),
        (EXPERIMENTS, "limit=99999999999999999999999999", "limit"),
        (EXPERIMENTS, "offset=-1", "offset"),
        (EXPERIMENTS, "offset=ten", "offset"),
        (TRIALS, "limit=", "limit"),
        (TRIALS, "status=Nope", "status"),
        (TRIALS, "status=succeeded", "status"),
        (TRIALS, "status=", "status"),
        (TRIALS, "experiment=abc", "experiment"),
        (TRIALS, "schedule=abc", "schedule"),
        (TRIALS, "include_deleted=maybe", "include_deleted"),
        (TRIALS, "created_after=yesterday", "created_after"),
        (TRIALS, "created_after=2024-01-01T00:00:00", "created_after"),
        (TRIALS, "created_after=0001-01-01T00:00:00%2B14:00", "created_after"),
        (TRIALS, "created_before=9999-12-31T23:59:59-14:00", "created_before"),
    ],
)
def test_a_bad_query_parameter_is_400_naming_it(
    api: httpx.Client, path: str, query: str, field: str
) -> None:
    assert_names_fields(api.get(f"{path}?{query}"), field)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_body_over_the_size_limit_is_413(api: httpx.Client, method: str) -> None:
    path = EXPERIMENTS if method == "POST" else f"{EXPERIMENTS}/{uuid.uuid4()}"
    body = json.dumps(_body(description="d" * 2_000_000)).encode()

    response = api.request(method, path, content=body, headers=JSON)

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_a_streamed_body_over_the_size_limit_is_413(api: httpx.Client) -> None:
    chunks = iter([b'{"name": "', *[b"x" * 100_000] * 20, b'"}'])

    response = api.post(TRIALS, content=chunks, headers=JSON)

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_odd_but_valid_values_are_stored_as_sent(api: httpx.Client) -> None:
    odd = {
        "emoji": "Chaos 🐒 🔥",
        "scripts": "ünïcödé 混沌 カオス \u0445\u0430\u043e\u0441 فوضى",
        "invisible": "zero\u200bwidth\u202eright-to-left",
        "control": "tab\tnewline\nbell\u0007",
        "largest_int": 2**64 - 1,
        "smallest_int": -(2**63),
        "max_float": 1.7976931348623157e308,
        "tiny_float": 5e-324,
        "long": "L" * 400_000,
        "nested": _nested(30),
        "empty": [{}, [], ""],
    }
    body = _body(
        name="Ünïcode 🐒 " + "n" * 200,
        description="D" * 10_000,
        metadata=odd,
        parameters={**odd, "long": "short"},
        steps=[_step(step="🐒", where={"time_in_seconds": 0, "note": odd["scripts"]})],
    )

    created = api.post(EXPERIMENTS, json=body)

    assert created.status_code == 201, created.text[:500]
    stored = api.get(f"{EXPERIMENTS}/{created.json()['id']}").json()
    for field in ("name", "description", "metadata", "parameters"):
        assert stored[field] == body[field], field
    assert stored["steps"][0]["where"]["note"] == odd["scripts"]


def test_a_trial_with_odd_but_valid_values_stores_them(
    api: httpx.Client, experiment_id: str
) -> None:
    odd = {"emoji": "🐒", "big_int": 2**63, "nested": _nested(31)}

    created = api.post(
        TRIALS,
        json={"experiment": experiment_id, "metadata": odd, "ticket": odd},
    )

    assert created.status_code == 201, created.text[:500]
    stored = api.get(f"{TRIALS}/{created.json()['id']}").json()
    assert stored["metadata"] == odd
    assert stored["ticket"] == odd


def test_a_where_at_the_depth_limit_still_gives_a_readable_trial_record(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    # The record nests each step's `where` a few levels below the request's, so
    # reading a trial must not apply the request's depth limit.
    where = {"url": probe_target.url, "method": "POST", "request_body": _nested(31)}
    step = {"do": "cm.http_request", "where": where}
    experiment = api.post(EXPERIMENTS, json=_body(steps=[step])).json()
    trial = api.post(TRIALS, json={"experiment": experiment["id"]}).json()

    for _ in range(500):
        response = api.get(f"{TRIALS}/{trial['id']}")
        assert response.status_code == 200, response.text
        if response.json()["completed_at"]:
            break
    done = response.json()
    assert done["status"] == "Succeeded"
    recorded = done["trial_record"]["steps"][0]["step_parameters"]["request_body"]
    assert recorded == _nested(31)


@pytest.mark.parametrize("field", ["actor", "action", "target_type", "target_id"])
def test_an_audit_filter_with_a_nul_is_400_naming_it(
    api: httpx.Client, field: str
) -> None:
    # PostgreSQL cannot even compare text holding a NUL.
    assert_names_fields(api.get("/api/v1/audit", params={field: "a\x00b"}), field)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"reason": "halt\\u0000now"}', id="nul"),
        pytest.param('{"reason": "halt\\ud800"}', id="surrogate"),
    ],
)
def test_a_halt_reason_postgresql_cannot_store_is_400_and_halts_nothing(
    api: httpx.Client, raw: str
) -> None:
    response = api.put("/api/v1/halt", content=_raw(raw), headers=JSON)

    assert_names_fields(response, "reason")
    assert api.get("/api/v1/halt").json()["halted"] is False


@pytest.mark.parametrize("name", ["a%00b", "a%ED%A0%80", "with%20space"])
def test_revoking_a_token_name_no_token_can_have_is_404(
    api: httpx.Client, name: str
) -> None:
    response = api.delete(f"/api/v1/token/{name}")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Not found."}


def test_a_token_lifetime_past_the_year_9999_is_400_naming_expires(
    api: httpx.Client,
) -> None:
    name = f"far-future-{uuid.uuid4().hex[:8]}"

    response = api.post(
        "/api/v1/token", json={"name": name, "role": "viewer", "expires": "999999w"}
    )

    assert_names_fields(response, "expires")
    listed = api.get("/api/v1/token").json()
    assert name not in [token["name"] for token in listed]
