"""/schedule-preview: how a cron pattern reads and when it would fire, before
a schedule is saved (the console shows it beside the pattern being typed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, Field

from kallisti.api.deps import State, Viewer
from kallisti.domain.cron_reading import describe_recurrence
from kallisti.domain.schedules import (
    check_recurrence_pattern,
    check_timezone,
    next_fire_time,
)

router = APIRouter(prefix="/schedule-preview", tags=["schedule"])

MAX_PREVIEW_TIMES = 20


class SchedulePreview(BaseModel):
    """A cron pattern in plain English and its next fire times (UTC)."""

    recurrence_pattern: str
    timezone: str
    description: str = Field(
        description='Plain reading, e.g. "every weekday at 09:30, Europe/London".'
    )
    next_fire_times: list[datetime]


@router.get("")
def preview_schedule(
    state: State,
    _: Viewer,
    recurrence_pattern: Annotated[
        str,
        Query(max_length=255, description="Cron pattern, as a schedule takes it."),
        AfterValidator(check_recurrence_pattern),
    ],
    timezone: Annotated[
        str,
        Query(max_length=64, description="IANA time zone the pattern is read in."),
        AfterValidator(check_timezone),
    ] = "UTC",
    count: Annotated[
        int, Query(ge=1, le=MAX_PREVIEW_TIMES, description="How many fire times.")
    ] = 5,
) -> SchedulePreview:
    """Read the pattern as the worker will: the same validation (400 naming the
    field) and the same next-tick rule as a saved schedule."""
    times: list[datetime] = []
    after = state.store.clock()
    for _index in range(count):
        after = next_fire_time(recurrence_pattern, timezone, after)
        times.append(after)
    return SchedulePreview(
        recurrence_pattern=recurrence_pattern,
        timezone=timezone,
        description=describe_recurrence(recurrence_pattern, timezone),
        next_fire_times=times,
    )
