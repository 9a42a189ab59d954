"""GET /api/v1/schedule-preview: a cron pattern read in plain English and its
next fire times, by the rules a saved schedule follows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PREVIEW = "/api/v1/schedule-preview"


def test_preview_reads_the_pattern_and_lists_the_next_five_runs(
    api: httpx.Client,
) -> None:
    response = api.get(
        PREVIEW,
        params={"recurrence_pattern": "30 9 * * 1-5", "timezone": "Europe/London"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["description"] == "every weekday at 09:30, Europe/London"
    times = [datetime.fromisoformat(t) for t in body["next_fire_times"]]
    assert len(times) == 5
    assert times == sorted(set(times))
    for time in times:
        local = time.astimezone(ZoneInfo("Europe/London"))
        assert (local.hour, local.minute) == (9, 30)
        assert local.weekday() < 5


def test_preview_count_is_honoured(api: httpx.Client) -> None:
    body = api.get(PREVIEW, params={"recurrence_pattern": "@hourly", "count": 2}).json()

    assert body["recurrence_pattern"] == "@hourly"
    assert len(body["next_fire_times"]) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"recurrence_pattern": "61 * * * *"}, "recurrence_pattern"),
        ({"recurrence_pattern": "* * *"}, "recurrence_pattern"),
        ({"recurrence_pattern": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"recurrence_pattern": "0 9 * * *", "count": 0}, "count"),
        ({}, "recurrence_pattern"),
    ],
)
def test_preview_refuses_a_bad_pattern_naming_the_field(
    api: httpx.Client, params: dict[str, str | int], field: str
) -> None:
    response = api.get(PREVIEW, params=params)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
