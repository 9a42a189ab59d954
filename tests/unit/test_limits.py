"""Bounds on log lines and recorded values: long text ends with a marker."""

from __future__ import annotations

from kallisti.domain.limits import LOG_LINE_LIMIT, capped, capped_values
from kallisti.domain.record import TrialRecord


def test_short_text_is_kept_whole() -> None:
    assert capped("fine", 10) == "fine"


def test_long_text_is_cut_with_a_marker_counting_the_bytes_left_out() -> None:
    assert capped("abcdefé", 4) == "abcd… (4 bytes more)"


def test_every_long_string_of_a_value_is_capped() -> None:
    value = {"a": ["x" * 20], "b": 3, "c": "short"}
    assert capped_values(value, 5) == {
        "a": ["xxxxx… (15 bytes more)"],
        "b": 3,
        "c": "short",
    }


def test_a_record_line_and_recorded_parameters_are_capped() -> None:
    record = TrialRecord()
    huge = "y" * 21_000_000
    log = record.start_step("steps", "Http probe", {"request_body": huge})
    log.error(f"Expectation failed: {huge}")

    entry = record.to_json()["steps"][0]

    assert len(entry["logs"][0]) < LOG_LINE_LIMIT + 100
    assert entry["logs"][0].endswith(
        f"… ({21_000_000 + 20 - LOG_LINE_LIMIT} bytes more)"
    )
    assert len(entry["step_parameters"]["request_body"]) < 5_000
    assert "bytes more)" in entry["step_parameters"]["request_body"]
