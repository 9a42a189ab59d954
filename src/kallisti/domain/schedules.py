"""Trial schedules: run an experiment on a cron, as Kallisti's `TrialSchedule`.

The rules kept here, with no I/O:
- `recurrence_pattern` is a 5-field cron expression (or an alias such as
  `@daily`) that croniter accepts and that fires at least once;
- `timezone` is an IANA name (default UTC); the pattern is read in that zone, so
  `0 9 * * 1-5` means 09:00 local time, summer and winter;
- `recurrence_left` starts at `recurrence_count`, counts down at each trial and
  is reset to the new count whenever the count changes (null = forever);
- a schedule fires once per cron tick; after downtime it fires *once* for all
  the ticks it missed, then keeps to its cadence (see `next_fire_time`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from kallisti.domain.models import JsonObject, TrialStatus

__all__ = [
    "CRON_ALIASES",
    "READ_ONLY_FIELDS",
    "ScheduleCreate",
    "SchedulePublic",
    "ScheduleTrial",
    "ScheduleUpdate",
    "check_recurrence_pattern",
    "check_timezone",
    "next_fire_time",
]

CRON_ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_CRON_FIELDS = "minute hour day-of-month month day-of-week"
MAX_RECURRENCE_COUNT = 1_000_000

# Fields a client may send back from a GET (Kallisti's serializer ignores them);
# they are read-only here too, so they are dropped rather than refused.
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "experiment_id",
        "recurrence_left",
        "created_by",
        "created_at",
        "updated_at",
        "next_fire_at",
        "last_skipped_at",
        "last_skip_reason",
        "trials",
    }
)


def check_recurrence_pattern(pattern: str) -> str:
    """Return the pattern stripped; raise `ValueError` saying what is wrong with it.

    Accepted: five space-separated cron fields (minute hour day-of-month month
    day-of-week) that croniter understands and that fire at least once, or one of
    the aliases `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`,
    `@yearly`, `@annually`.
    """
    pattern = " ".join(pattern.split())
    if not pattern:
        raise ValueError(
            f"is empty; give a cron expression with 5 fields: {_CRON_FIELDS}"
        )
    if pattern.startswith("@"):
        if pattern.lower() not in CRON_ALIASES:
            raise ValueError(
                f"{pattern!r} is not a cron alias; use one of "
                + ", ".join(sorted(CRON_ALIASES))
                + f" or 5 fields: {_CRON_FIELDS}"
            )
        return pattern.lower()
    fields = pattern.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f"{pattern!r} has {len(fields)} field(s); a cron expression has 5: "
            f"{_CRON_FIELDS} (e.g. '*/15 * * * *' = every 15 minutes)"
        )
    if not croniter.is_valid(pattern):
        raise ValueError(
            f"{pattern!r} is not a valid cron expression (fields: {_CRON_FIELDS}; "
            "e.g. '0 9 * * 1-5' = 09:00 on weekdays)"
        )
    try:
        next_fire_time(pattern, "UTC", datetime(2000, 1, 1, tzinfo=UTC))
    except ValueError:
        raise ValueError(f"{pattern!r} never fires (no such date)") from None
    return pattern


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def check_timezone(name: str) -> str:
    """Return the IANA zone name; raise `ValueError` when no such zone exists."""
    if name not in _zone_names():
        raise ValueError(
            f"{name!r} is not an IANA time zone name (e.g. 'UTC', 'Europe/London', "
            "'America/New_York')"
        )
    return name


def next_fire_time(pattern: str, timezone: str, after: datetime) -> datetime:
    """The first tick of `pattern` (read in `timezone`) strictly after `after`, in UTC.

    Catch-up rule: the worker passes *now*, not the tick it just fired, so a
    schedule that missed several ticks while no worker ran fires once and then
    resumes on its cadence instead of starting a burst of trials.
    Raises `ValueError` when the pattern has no future tick.
    """
    if after.tzinfo is None:
        raise ValueError("`after` must be an aware datetime")
    start = after.astimezone(ZoneInfo(timezone))
    try:
        tick = croniter(pattern, start).get_next(datetime)
    except Exception as err:  # croniter raises its own errors, some not ValueError
        raise ValueError(f"{pattern!r} has no next tick: {err}") from err
    assert isinstance(tick, datetime)
    return tick.astimezone(UTC)


Pattern = Annotated[
    str, Field(max_length=255), AfterValidator(check_recurrence_pattern)
]
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
RecurrenceCount = Annotated[int, Field(ge=0, le=MAX_RECURRENCE_COUNT)]


def _drop_read_only(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}
    return data


class ScheduleCreate(BaseModel):
    """Body of POST (and PUT) /experiment/{id}/schedule."""

    model_config = ConfigDict(extra="forbid")

    recurrence_pattern: Pattern = Field(
        description="Cron expression with 5 fields (minute hour day-of-month month "
        "day-of-week), e.g. `*/30 * * * *`, or an alias such as `@daily`."
    )
    recurrence_count: RecurrenceCount | None = Field(
        default=None,
        description="How many trials in total; null = forever.",
    )
    timezone: TimeZoneName = Field(
        default="UTC", description="IANA time zone the pattern is read in."
    )
    parameters: JsonObject = Field(
        default_factory=dict,
        description="Handed to each trial; override the experiment's parameters.",
    )
    metadata: JsonObject = Field(
        default_factory=dict, description="Laid over the experiment's metadata."
    )
    ticket: JsonObject = Field(
        default_factory=dict, description="Handed to each trial."
    )

    _drop_read_only_fields = model_validator(mode="before")(_drop_read_only)


class ScheduleUpdate(BaseModel):
    """Body of PATCH /experiment/{id}/schedule/{sid}: only the fields given change.

    `recurrence_count` may be set to null (run forever); the other fields may not.
    """

    model_config = ConfigDict(extra="forbid")

    recurrence_pattern: Pattern | None = None
    recurrence_count: RecurrenceCount | None = None
    timezone: TimeZoneName | None = None
    parameters: JsonObject | None = None
    metadata: JsonObject | None = None
    ticket: JsonObject | None = None

    _drop_read_only_fields = model_validator(mode="before")(_drop_read_only)

    @model_validator(mode="after")
    def _no_nulls_for_required(self) -> ScheduleUpdate:
        for field in (
            "recurrence_pattern",
            "timezone",
            "parameters",
            "metadata",
            "ticket",
        ):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class ScheduleTrial(BaseModel):
    """A trial a schedule started, as the schedule lists it."""

    id: UUID
    status: TrialStatus
    executed_at: datetime | None


class SchedulePublic(BaseModel):
    """A schedule as the API returns it (Kallisti's fields, plus `timezone` and
    `next_fire_at`)."""

    id: UUID
    experiment_id: UUID
    parameters: JsonObject
    metadata: JsonObject
    ticket: JsonObject
    recurrence_pattern: str
    recurrence_count: int | None
    recurrence_left: int | None
    timezone: str
    next_fire_at: datetime | None = Field(
        description="When the next trial starts; null once the schedule is spent."
    )
    created_by: str
    created_at: datetime
    last_skipped_at: datetime | None = Field(
        default=None,
        description="The last tick skipped without a trial (null: none skipped).",
    )
    last_skip_reason: str | None = Field(
        default=None,
        description="Why that tick was skipped: an open blackout window, the halt "
        "switch, a creation hook's refusal.",
    )
    trials: list[ScheduleTrial] = Field(
        default_factory=list, description="Trials it started, oldest first."
    )
