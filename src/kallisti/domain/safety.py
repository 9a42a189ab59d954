"""Safety of the blast, the rules with no I/O: why a trial ended early, the halt
switch, blackout windows, guards and targets.

- A trial that ended early says why in `stop_reason`, one of `StopCause`
  (or `guard:<name>`).
- A blackout window is open from each tick of its cron (read in its time zone)
  for `duration_seconds`.
- A target is a path (`k8s/<cluster>/<namespace>/<selector>`); two targets
  overlap when one is the other or lies under it, so a whole namespace overlaps
  every workload in it while two workloads in it do not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kallisti.domain.models import Guard, Name, check_stored_text
from kallisti.domain.schedules import check_recurrence_pattern, check_timezone

__all__ = [
    "BlackoutSettings",
    "BlackoutWindow",
    "Guard",
    "HaltPublic",
    "HaltRequest",
    "StopCause",
    "guard_cause",
    "open_window",
    "targets_overlap",
]


class StopCause(StrEnum):
    """Why a trial ended early (its `stop_reason`); guards add `guard:<name>`."""

    USER = "user"
    HALT = "halt"
    MAX_DURATION = "max_duration"
    WORKER_LOST = "worker_lost"
    SHUTDOWN = "shutdown"


def guard_cause(name: str) -> str:
    return f"guard:{name}"


Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(check_stored_text),
]


class HaltRequest(BaseModel):
    """Body of PUT /halt: why everything stops."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why chaos is halted; shown to whoever tries.")


class HaltPublic(BaseModel):
    """The halt switch as GET /halt answers it."""

    halted: bool
    reason: str | None = None
    by: str | None = None
    at: datetime | None = None


MAX_BLACKOUT_WINDOWS = 100


class BlackoutWindow(BaseModel):
    """A time when no trial starts: from each cron tick, for `duration_seconds`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    cron: Annotated[str, AfterValidator(check_recurrence_pattern)]
    duration_seconds: float = Field(gt=0, le=366 * 24 * 3600, allow_inf_nan=False)
    timezone: Annotated[str, AfterValidator(check_timezone)] = "UTC"

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        # The latest tick at or before now: a window of any length that started
        # then is the one that may still be open.
        ticks = croniter(self.cron, local + timedelta(microseconds=1))
        last: datetime = ticks.get_prev(datetime)
        return now < last.astimezone(UTC) + timedelta(seconds=self.duration_seconds)


class BlackoutSettings(BaseModel):
    """Body and answer of /blackout."""

    model_config = ConfigDict(extra="forbid")

    windows: list[BlackoutWindow] = Field(max_length=MAX_BLACKOUT_WINDOWS)


def open_window(windows: list[BlackoutWindow], now: datetime) -> BlackoutWindow | None:
    """The first window open at `now`, or None."""
    return next((window for window in windows if window.is_open(now)), None)


def _segments(target: str) -> list[str]:
    return [part for part in target.split("/") if part]


def targets_overlap(first: str, second: str) -> bool:
    """Tell whether two targets share something: one is, or lies under, the other."""
    a, b = _segments(first), _segments(second)
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]
