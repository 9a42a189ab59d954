"""Expectations: every operator, `value`, dotted paths, numbers given as strings."""

from __future__ import annotations

from typing import Any

import pytest

from kallisti.domain.errors import ExpectationFailed, InvalidInput
from kallisti.domain.expectations import Expectation, check_all, parse_expectations
from kallisti.domain.models import Step

HTTP_RESULT: dict[str, Any] = {
    "status_code": 200,
    "response_text": '{"data": {"id": "42"}}',
    "response": {
        "data": {"id": "42", "items": [{"name": "a"}, {"name": "b"}]},
        "ratio": "0.25",
    },
}


def holds(entry: dict[str, Any], result: Any) -> bool:
    try:
        Expectation.parse(entry).check(result)
    except ExpectationFailed:
        return False
    return True


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "outcome"),
    [
        ("eq", 5, 5, True),
        ("eq", 5, 6, False),
        ("ne", 5, 6, True),
        ("ne", 5, 5, False),
        ("lt", 4, 5, True),
        ("lt", 5, 5, False),
        ("le", 5, 5, True),
        ("le", 6, 5, False),
        ("gt", 6, 5, True),
        ("gt", 5, 5, False),
        ("ge", 5, 5, True),
        ("ge", 4, 5, False),
        ("eq", "up", "up", True),
        ("ne", "up", "down", True),
        ("lt", "abc", "abd", True),
        ("eq", None, None, True),
        ("eq", [1, 2], [1, 2], True),
    ],
)
def test_every_comparison_operator_compares_a_scalar_result_through_value(
    operator: str, actual: Any, expected: Any, outcome: bool
) -> None:
    assert holds({"operator": operator, "value": expected}, actual) is outcome


@pytest.mark.parametrize(
    ("pattern", "actual", "outcome"),
    [
        (r"^2\d\d$", 204, True),
        (r"^2\d\d$", 503, False),
        ("healthy", "service is healthy", True),
        ("^healthy", "service is healthy", False),
    ],
)
def test_regex_searches_the_text_of_the_result(
    pattern: str, actual: Any, outcome: bool
) -> None:
    assert holds({"operator": "regex", "value": pattern}, actual) is outcome


@pytest.mark.parametrize(
    ("entry", "outcome"),
    [
        ({"operator": "eq", "status_code": 200}, True),
        ({"operator": "lt", "status_code": 400}, True),
        ({"operator": "eq", "response.data.id": "42"}, True),
        ({"operator": "eq", "response.data.items.1.name": "b"}, True),
        ({"operator": "eq", "response.data.items.-1.name": "b"}, True),
        ({"operator": "eq", "response.data.items[0].name": "a"}, True),
        ({"operator": "regex", "response.data.items[1].name": "^b$"}, True),
        ({"operator": "ne", "response.data.items.0.name": "a"}, False),
    ],
)
def test_dotted_paths_reach_into_dict_results_and_list_items_by_index(
    entry: dict[str, Any], outcome: bool
) -> None:
    assert holds(entry, HTTP_RESULT) is outcome


def test_a_list_result_is_reached_by_index_as_in_kallisti_jsonpath_keys() -> None:
    result = [{"name": "pod-a"}, {"name": "pod-b"}]

    assert holds({"operator": "eq", "[1].name": "pod-b"}, result)
    assert holds({"operator": "eq", "0.name": "pod-a"}, result)


def test_value_on_a_dict_result_is_the_key_named_value() -> None:
    assert holds({"operator": "eq", "value": 3}, {"value": 3})
    assert not holds({"operator": "eq", "value": 3}, {"value": 4})


@pytest.mark.parametrize(
    ("operator", "actual", "expected"),
    [
        ("eq", "200", 200),
        ("eq", 200, "200"),
        ("eq", "1.0", 1),
        ("eq", 1000, "1e3"),
        ("eq", "0.1", 0.1),
        ("gt", "10", 9),
        ("gt", 10, "9"),
        ("lt", "9", "10"),
        ("ge", " 0.25 ", "0.25"),
        ("ne", "2", "2.5"),
    ],
)
def test_numbers_given_as_strings_compare_as_numbers_both_ways(
    operator: str, actual: Any, expected: Any
) -> None:
    # As text "9" > "10" and "1.0" != "1"; metrics APIs answer in strings.
    assert holds({"operator": operator, "value": expected}, actual)


def test_a_numeric_string_in_a_json_response_compares_as_a_number() -> None:
    assert holds({"operator": "lt", "response.ratio": 0.5}, HTTP_RESULT)
    assert not holds({"operator": "gt", "response.ratio": "0.5"}, HTTP_RESULT)


def test_non_numeric_strings_still_compare_as_text() -> None:
    assert holds({"operator": "eq", "value": "NaN"}, "NaN")
    assert holds({"operator": "lt", "value": "b"}, "a")
    assert not holds({"operator": "eq", "value": "1"}, "one")


def test_a_nan_number_in_a_result_fails_an_ordering_instead_of_crashing() -> None:
    # json.loads turns a bare NaN in a body into float("nan").
    assert not holds({"operator": "lt", "value": 5}, float("nan"))
    assert not holds({"operator": "eq", "value": 5}, float("nan"))
    assert holds({"operator": "gt", "value": 5}, float("inf"))


def test_a_missing_path_fails_with_a_message_naming_the_path() -> None:
    with pytest.raises(ExpectationFailed) as caught:
        Expectation.parse({"operator": "eq", "response.data.uuid": 1}).check(
            HTTP_RESULT
        )

    assert str(caught.value) == (
        "Expectation failed: the result has no field 'response.data.uuid'."
    )


@pytest.mark.parametrize(
    ("field", "result"),
    [
        ("response.data.items.7.name", HTTP_RESULT),
        ("response.data.items.first", HTTP_RESULT),
        ("response.data.id.deeper", HTTP_RESULT),
        ("status_code", None),
        ("status_code", "200"),
    ],
)
def test_paths_through_missing_items_or_scalars_fail_as_missing(
    field: str, result: Any
) -> None:
    with pytest.raises(ExpectationFailed, match="the result has no field"):
        Expectation.parse({"operator": "eq", field: 1}).check(result)


def test_a_failed_comparison_says_what_was_expected_and_what_was_found() -> None:
    with pytest.raises(ExpectationFailed) as caught:
        Expectation.parse({"operator": "eq", "status_code": 201}).check(HTTP_RESULT)

    assert str(caught.value) == (
        "Expectation failed: status_code eq 201 does not hold (actual: 200)."
    )


def test_values_that_cannot_be_ordered_fail_the_expectation_not_the_engine() -> None:
    with pytest.raises(ExpectationFailed, match="cannot compare"):
        Expectation.parse({"operator": "lt", "value": "abc"}).check(5)


def test_check_all_fails_at_the_first_entry_that_does_not_hold() -> None:
    expectations = parse_expectations(
        [
            {"operator": "eq", "status_code": 200},
            {"operator": "eq", "response.data.id": 7},
            {"operator": "eq", "response.nothing": 1},
        ]
    )

    with pytest.raises(ExpectationFailed, match=r"response\.data\.id eq 7"):
        check_all(expectations, HTTP_RESULT)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"operator": "is", "value": 1}, "'is' is not an operator"),
        ({"value": 1}, "None is not an operator"),
        ({"operator": "eq"}, "exactly one field besides `operator`"),
        ({"operator": "eq", "status_code": 200, "value": 1}, "exactly one field"),
        ({"operator": "regex", "value": "("}, "invalid regular expression"),
        (
            {"operator": "regex", "value": "a{4294967296}"},
            "invalid regular expression: the repetition number is too large",
        ),
        (
            {"operator": "regex", "value": "(" * 2000 + ")" * 2000},
            "invalid regular expression: nested too deeply",
        ),
        ({"operator": "eq", "response..id": 1}, "not a valid dotted path"),
        ({"operator": "eq", "": 1}, "not a valid dotted path"),
        ("eq 200", "each entry must be an object"),
    ],
)
def test_malformed_entries_are_rejected_when_parsed(entry: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Expectation.parse(entry)


def test_an_invalid_expectation_makes_the_step_invalid_at_validation() -> None:
    with pytest.raises(ValueError, match="'between' is not an operator"):
        Step(
            do="cm.http_probe",
            where={"url": "http://127.0.0.1/"},
            expect=[{"operator": "between", "status_code": 200}],
        )


def test_the_operators_list_names_each_operator_for_the_user() -> None:
    with pytest.raises(InvalidInput) as caught:
        Expectation.parse({"operator": "==", "value": 1})

    assert "eq, ne, lt, le, gt, ge, regex" in str(caught.value)
