"""Step templates: per-value `{{ name }}` substitution, sandboxed, data stays data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from jinja2 import UndefinedError
from pydantic import ValidationError

from kallisti.domain.models import ExperimentCreate, Step
from kallisti.domain.templating import Templates, template_errors
from kallisti.worker.worker import plan_from_row


def render(where: dict[str, Any], **parameters: Any) -> Any:
    return Templates(parameters).render(where)


def test_each_string_value_of_where_is_rendered_on_its_own() -> None:
    where = {
        "url": "http://{{ host }}:{{ port }}/health",
        "headers": {"X-Env": "{{ env }}"},
        "names": ["pod-{{ env }}", "plain"],
        "qty": 3,
    }

    rendered = render(where, host="app.local", port=8080, env="qa")

    assert rendered == {
        "url": "http://app.local:8080/health",
        "headers": {"X-Env": "qa"},
        "names": ["pod-qa", "plain"],
        "qty": 3,
    }
    assert where["url"] == "http://{{ host }}:{{ port }}/health", "input unchanged"


@pytest.mark.parametrize(
    "value", [2, 2.5, True, None, ["a", "b"], {"k": [1, {"deep": "x"}]}]
)
def test_a_string_that_is_one_placeholder_keeps_the_parameter_type(
    value: Any,
) -> None:
    assert render({"v": "{{ v }}"}, v=value) == {"v": value}
    assert render({"v": "{{v}}"}, v=value) == {"v": value}


def test_a_placeholder_with_other_text_gives_a_string() -> None:
    assert render({"v": "{{ v }} pods", "w": " {{ v }}"}, v=2) == {
        "v": "2 pods",
        "w": " 2",
    }


@pytest.mark.parametrize(
    "value",
    [
        'it\'s "quoted"',
        "{{ secret }}",
        "{% if true %}x{% endif %}",
        "{'a': 1}",
        '{"json": ["braces"]}',
        "back\\slash\nnew line",
        "{{ value.__class__.__mro__ }}",
    ],
)
def test_values_with_quotes_or_braces_are_inserted_as_data_never_rendered_again(
    value: str,
) -> None:
    rendered = render(
        {"whole": "{{ value }}", "inside": "<{{ value }}>"},
        value=value,
        secret="leaked",
    )

    assert rendered == {"whole": value, "inside": f"<{value}>"}


def test_strings_without_placeholders_are_kept_as_they_are() -> None:
    where = {"body": "{not a template}", "regex": "^a{2,3}$", "empty": ""}

    assert render(where) == where


@pytest.mark.parametrize(
    ("template", "found"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "call"),
        ("{{ x() }}", "call"),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "call"),
        ("{% if x %}yes{% endif %}", "if"),
        ("{% for i in x %}{{ i }}{% endfor %}", "for"),
        ("{% set y = 1 %}", "assign"),
        ("{{ x + 1 }}", "add"),
        ("{{ 7 * 7 }}", "mul"),
        ("{{ x ~ 'a' }}", "concat"),
        ("{{ x if y else z }}", "condexpr"),
        ("{{ x is defined }}", "test"),
    ],
)
def test_anything_but_a_placeholder_is_rejected_when_the_step_is_validated(
    template: str, found: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Step(do="cm.http_probe", where={"url": template})

    message = str(caught.value)
    assert "where.url: only {{ name }} placeholders are allowed" in message
    assert f"(found {found})" in message


@pytest.mark.parametrize(
    "template",
    [
        "{{ x.__class__ }}",
        "{{ x['__class__'] }}",
        "{{ lipsum.__globals__ }}",
        "{{ x[y] }}",
    ],
)
def test_lookups_of_private_or_computed_names_are_rejected(template: str) -> None:
    with pytest.raises(ValidationError, match="templates cannot reach names"):
        Step(do="cm.http_probe", where={"url": template})


def test_a_dict_parameter_is_read_with_a_dotted_lookup_as_in_kallisti() -> None:
    assert Templates({"app": {"host": "h1", "port": 8080}}).render(
        {"url": "http://{{ app.host }}:{{ app['port'] }}/"}
    ) == {"url": "http://h1:8080/"}


@pytest.mark.parametrize("template", ["{{ x|attr('y') }}", "{{ x|format(1) }}"])
def test_filters_outside_the_safe_list_are_rejected(template: str) -> None:
    with pytest.raises(ValidationError, match=r"template filter '.+' is not allowed"):
        Step(do="cm.wait", where={"time_in_seconds": template})


def test_unknown_filters_are_rejected() -> None:
    with pytest.raises(ValidationError, match="template filter 'shell' is not allowed"):
        Step(do="cm.wait", where={"nested": {"deeper": ["{{ x|shell }}"]}})


def test_a_template_syntax_error_names_the_value_it_is_in() -> None:
    with pytest.raises(ValidationError, match=r"where\.headers\.X: template syntax"):
        Step(do="cm.http_probe", where={"url": "u", "headers": {"X": "{{ oops"}})


def test_a_template_error_in_any_step_rejects_the_experiment() -> None:
    with pytest.raises(ValidationError, match="call"):
        ExperimentCreate.model_validate(
            {
                "name": "sneaky",
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
                "post_steps": [
                    {"do": "cm.wait", "where": {"time_in_seconds": "{{ a.b() }}"}}
                ],
            }
        )


def test_template_errors_lists_every_bad_value_with_its_path() -> None:
    errors = template_errors(
        {"a": "{{ x._y }}", "b": ["ok {{ z }}", "{{ z() }}"]}, "where"
    )

    assert [error.field for error in errors] == ["where.a", "where.b.1"]


def test_the_safe_filters_still_render() -> None:
    rendered = render(
        {
            "lower": "{{ env|lower }}",
            "default": "{{ env|default('prod') }}",
            "number": "{{ qty|int }}",
            "json": "{{ labels|tojson }}",
        },
        env="QA",
        qty="3",
        labels={"app": "web"},
    )

    assert rendered == {
        "lower": "qa",
        "default": "QA",
        "number": "3",
        "json": '{"app": "web"}',
    }


def test_names_are_found_in_every_string_at_any_depth() -> None:
    templates = Templates({"known": 1})
    where = {
        "a": "{{ known }}",
        "b": {"c": ["{{ first }}-{{ second }}"]},
        "d": "{{ third|default('x') }}",
    }

    assert templates.names(where) == {"known", "first", "second", "third"}
    assert templates.missing(where) == {"first", "second", "third"}


def _row(
    *, experiment_parameters: dict[str, Any], trial_parameters: dict[str, Any]
) -> SimpleNamespace:
    now = datetime.now(UTC).isoformat()
    snapshot = {
        "id": str(uuid.uuid4()),
        "name": "precedence",
        "parameters": experiment_parameters,
        "steps": [{"do": "cm.wait", "where": {"time_in_seconds": "{{ seconds }}"}}],
        "created_by": "tester",
        "created_at": now,
        "updated_at": now,
    }
    return SimpleNamespace(
        id=str(uuid.uuid4()),
        experiment_snapshot=snapshot,
        parameters=trial_parameters,
        dry_run=False,
    )


def test_trial_parameters_override_experiment_parameters_in_the_plan() -> None:
    plan = plan_from_row(
        _row(
            experiment_parameters={"seconds": 5, "env": "qa"},
            trial_parameters={"seconds": 0, "extra": "yes"},
        )
    )

    assert plan.parameters == {"seconds": 0, "env": "qa", "extra": "yes"}
    assert Templates(plan.parameters).render(plan.steps[0].where) == {
        "time_in_seconds": 0
    }


@pytest.mark.parametrize(
    "template",
    [
        "{{ " + "(" * 2000 + "x" + ")" * 2000 + " }}",
        "{{ x" + "|default(x" * 1000 + ")" * 1000 + " }}",
    ],
)
def test_a_template_nested_too_deeply_is_a_validation_error_not_a_crash(
    template: str,
) -> None:
    with pytest.raises(
        ValidationError, match=r"where\.a: template is nested too deeply"
    ):
        Step(do="cm.wait", where={"a": template})


@pytest.mark.parametrize(
    "template",
    ["{{ x.format }}", "a {{ x.upper }}", "{{ d.keys }}", "{{ x['format'] }}"],
)
def test_attributes_and_methods_of_values_are_refused_at_render(template: str) -> None:
    templates = Templates({"x": "text", "d": {"k": "v"}})
    with pytest.raises(UndefinedError):
        templates.render({"v": template})


def test_keys_of_dicts_and_items_of_lists_still_render() -> None:
    templates = Templates({"d": {"k": "v", "items": "i"}, "l": ["a", "b"]})
    assert templates.render("{{ d.k }}-{{ d['items'] }}-{{ l[1] }}") == "v-i-b"
