"""What the engine is given: a trial plan, a stop signal and a recorder."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from kallisti.domain.models import Guard, Step, TrialStatus
from kallisti.domain.record import TrialRecord

__all__ = ["LeaseLost", "StopSignal", "TrialPlan", "TrialRecorder"]


class LeaseLost(Exception):
    """Raised by the engine before a step when the recorder says the worker's
    lease may have run out: the trial now belongs to another worker, which
    cleans it up; this one must not touch it again."""


@dataclass(frozen=True)
class TrialPlan:
    """Everything needed to run one trial, fixed when the trial was created."""

    trial_id: UUID
    experiment_name: str
    pre_steps: tuple[Step, ...]
    steps: tuple[Step, ...]
    post_steps: tuple[Step, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    guards: tuple[Guard, ...] = ()
    max_duration_seconds: float | None = None


class StopSignal:
    """Asks a running trial to stop; whoever asks gives the reason.

    A user's stop, a failing guard, a halt switch or a lost lease all use it.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.reason = ""
        self.cause = ""
        """The trial's `stop_reason`: user, guard:<name>, halt, max_duration, ..."""

    def request(self, reason: str, cause: str = "user") -> None:
        """Ask for a stop; the first request's reason and cause are kept."""
        if not self._event.is_set():
            self.reason = reason
            self.cause = cause
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


class TrialRecorder(Protocol):
    """Where the engine writes the record; the worker's writes to the store."""

    def changed(self, record: TrialRecord) -> None:
        """The record changed: persist it soon, in order, without blocking."""

    async def close(
        self, status: TrialStatus, record: TrialRecord
    ) -> TrialStatus | None:
        """Persist the complete record and the terminal status in one write.

        Returns the status written when it is not `status` (a stop accepted
        while the trial ended makes it `Stopped`), else None.
        """
