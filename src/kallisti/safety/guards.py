"""Guards: probes run beside a trial's steps; one that keeps failing stops it.

Each guard runs from the trial's start until its post steps begin, every
`interval_seconds`; after more than `tolerance` consecutive failures it trips
the trial's stop (`stop_reason: guard:<name>`). The engine gives the probe run
and the stop; this module decides when.

The record keeps guard runs compactly: the first run, every failure and the
last run. A passing run that is neither first nor last is dropped as soon as
the next run starts, so a long trial's record does not grow with its guards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from kallisti.domain.errors import KallistiError
from kallisti.domain.models import Guard
from kallisti.domain.safety import guard_cause

__all__ = ["GuardRun", "GuardWatch"]

logger = logging.getLogger(__name__)


class GuardRun(Protocol):
    """One run of a guard's probe, as recorded: its error, and a way to drop it."""

    error: KallistiError | None

    def discard(self) -> None: ...


RunProbe = Callable[[Guard], Awaitable[GuardRun]]
Trip = Callable[[str, str], None]


class GuardWatch:
    """Runs a trial's guards until stopped; trips the stop when one fails."""

    def __init__(self, guards: Sequence[Guard], run: RunProbe, trip: Trip) -> None:
        self._guards = tuple(guards)
        self._run = run
        self._trip = trip
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._watch(g)) for g in self._guards]

    async def stop(self) -> None:
        """Cancel every guard; a run cut short leaves no entry in the record."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(self, guard: Guard) -> None:
        failures = 0
        first = True
        passed_before: GuardRun | None = None
        while True:
            run = await self._run(guard)
            if passed_before is not None:
                passed_before.discard()
                passed_before = None
            if run.error is None:
                failures = 0
                if not first:
                    passed_before = run
            else:
                failures += 1
                if failures > guard.tolerance:
                    self._trip(
                        f"guard {guard.name!r} failed: {run.error}",
                        guard_cause(guard.name),
                    )
                    return
            first = False
            await asyncio.sleep(guard.interval_seconds)
