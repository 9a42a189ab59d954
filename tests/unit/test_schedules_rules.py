"""Schedule rules with no I/O: cron and time-zone validation, the next tick."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kallisti.domain.schedules import (
    ScheduleCreate,
    ScheduleUpdate,
    check_recurrence_pattern,
    check_timezone,
    next_fire_time,
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*/5 * * * *", "*/5 * * * *"),
        ("  0   9 * * 1-5 ", "0 9 * * 1-5"),
        ("@daily", "@daily"),
        ("@HOURLY", "@hourly"),
        ("0 0 29 2 *", "0 0 29 2 *"),
    ],
)
def test_valid_cron_patterns_are_kept_normalised(pattern: str, expected: str) -> None:
    assert check_recurrence_pattern(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "explanation"),
    [
        ("* * * *", "has 4 field(s); a cron expression has 5"),
        ("0 * * * * *", "has 6 field(s)"),
        ("61 * * * *", "is not a valid cron expression"),
        ("every day", "has 2 field(s)"),
        ("0 0 30 2 *", "never fires"),
        ("@reboot", "is not a cron alias"),
        ("", "is empty"),
    ],
)
def test_invalid_cron_patterns_are_refused_with_an_explanation(
    pattern: str, explanation: str
) -> None:
    with pytest.raises(ValueError) as caught:
        check_recurrence_pattern(pattern)
    assert explanation in str(caught.value)
    if "never fires" not in explanation:
        assert "minute hour day-of-month month day-of-week" in str(caught.value)


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"]
)
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert check_timezone(name) == name


@pytest.mark.parametrize(
    "name",
    ["utc", "America", "Mars/Olympus", "../../etc/passwd", "zone.tab", "a\x00b", ""],
)
def test_anything_but_an_iana_time_zone_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not an IANA time zone name"):
        check_timezone(name)


def test_next_tick_is_strictly_after_the_given_moment() -> None:
    at_tick = datetime(2026, 5, 1, 10, 15, tzinfo=UTC)
    assert next_fire_time("*/15 * * * *", "UTC", at_tick) == datetime(
        2026, 5, 1, 10, 30, tzinfo=UTC
    )


def test_after_downtime_the_next_tick_follows_now_not_the_missed_ticks() -> None:
    # Missed every 5-minute tick for 2 hours: the next is the one after now.
    now = datetime(2026, 5, 1, 12, 7, 30, tzinfo=UTC)
    assert next_fire_time("*/5 * * * *", "UTC", now) == datetime(
        2026, 5, 1, 12, 10, tzinfo=UTC
    )


def test_pattern_is_read_in_its_time_zone_across_daylight_saving() -> None:
    winter = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 0, 0, tzinfo=UTC)
    assert next_fire_time("0 9 * * *", "Europe/London", winter) == datetime(
        2026, 1, 15, 9, 0, tzinfo=UTC
    )
    assert next_fire_time("0 9 * * *", "Europe/London", summer) == datetime(
        2026, 7, 15, 8, 0, tzinfo=UTC
    )


def test_a_local_time_skipped_by_daylight_saving_fires_once_after_the_jump() -> None:
    # 02:30 does not exist in New York on 2026-03-08.
    before = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    fired = next_fire_time("30 2 * * *", "America/New_York", before)
    assert before < fired <= datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_read_only_fields_sent_back_from_a_get_are_ignored() -> None:
    body = {
        "id": "73919897-0835-4ad6-bfc6-2b332c9d615f",
        "experiment_id": "d4e4a9cd-d97a-472c-977b-9f92338db2e1",
        "recurrence_pattern": "*/5 * * * *",
        "recurrence_count": 1,
        "recurrence_left": 0,
        "created_by": "a123456",
        "created_at": "2019-06-17T04:34:07.014023Z",
        "trials": [],
        "parameters": {},
        "ticket": {},
    }
    schedule = ScheduleCreate.model_validate(body)
    assert schedule.recurrence_count == 1
    assert schedule.timezone == "UTC"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="recurrence_patern"):
        ScheduleCreate.model_validate({"recurrence_patern": "* * * * *"})


def test_patch_may_clear_the_count_but_not_the_pattern() -> None:
    assert (
        ScheduleUpdate.model_validate({"recurrence_count": None}).recurrence_count
        is None
    )
    with pytest.raises(ValidationError, match="recurrence_pattern cannot be null"):
        ScheduleUpdate.model_validate({"recurrence_pattern": None})


def test_negative_recurrence_count_is_refused() -> None:
    with pytest.raises(ValidationError, match="recurrence_count"):
        ScheduleCreate.model_validate(
            {"recurrence_pattern": "@daily", "recurrence_count": -1}
        )
