"""Cron patterns read out in plain English (domain.cron_reading)."""

from __future__ import annotations

import pytest

from kallisti.domain.cron_reading import describe_recurrence


@pytest.mark.parametrize(
    ("pattern", "reading"),
    [
        ("30 9 * * 1-5", "every weekday at 09:30, Europe/London"),
        ("*/15 * * * *", "every 15 minutes, Europe/London"),
        ("* * * * *", "every minute, Europe/London"),
        ("0 * * * *", "every hour, Europe/London"),
        ("5 * * * *", "at minute 5 of every hour, Europe/London"),
        ("0 */2 * * *", "every 2 hours, on the hour, Europe/London"),
        ("@daily", "every day at 00:00, Europe/London"),
        ("@weekly", "every Sunday at 00:00, Europe/London"),
        ("0 9 * * 7", "every Sunday at 09:00, Europe/London"),
        ("0 9,17 * * *", "every day at 09:00 and 17:00, Europe/London"),
        ("0 0 * * sat,sun", "every Saturday and Sunday at 00:00, Europe/London"),
        (
            "*/5 9-17 * * mon-fri",
            "every 5 minutes, between 09:00 and 17:59, every weekday, Europe/London",
        ),
        (
            "15 10 1,15 jan,jul *",
            "on days 1 and 15 of the month in January and July at 10:15, Europe/London",
        ),
        (
            "0 6 1 * 1",
            "on day 1 of the month or every Monday at 06:00, Europe/London",
        ),
    ],
)
def test_common_patterns_read_plainly(pattern: str, reading: str) -> None:
    assert describe_recurrence(pattern, "Europe/London") == reading


def test_unusual_syntax_is_spelt_out_field_by_field() -> None:
    assert describe_recurrence("0 0 L * *", "UTC") == (
        "cron minute 0, hour 0, day of month L, month *, day of week *, UTC"
    )
