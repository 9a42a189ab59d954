"""Firing schedules: each due cron tick starts exactly one trial, whatever the
number of workers.

Every worker runs a `ScheduleFirer`. It wakes at each whole minute (cron ticks
are whole minutes) and at least every `schedule_poll_seconds`, reads the
schedules whose `next_fire_at` has come, and for each one claims the tick and
records the trial in one transaction (`ScheduleRepository.claim_tick`): of
several workers seeing the same tick, one wins and the others skip it.

Catch-up after downtime: the next tick is computed from *now*, not from the
tick being fired. A schedule that missed ticks while no worker ran therefore
starts one trial, not one per missed tick, and then keeps to its cadence.
Chaos trials are not idempotent; a burst of them against a system that was
just restarted is the last thing an operator wants.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from kallisti.domain.errors import InvalidInput, KallistiError
from kallisti.domain.models import TrialCreate, TrialPublic
from kallisti.domain.record import Clock
from kallisti.domain.schedules import next_fire_time
from kallisti.notifications.plugins import TrialCreationHooks
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store.schedules import DueTick, ScheduleRepository

__all__ = ["INITIATED_FROM_SCHEDULE", "ScheduleFirer"]

logger = logging.getLogger(__name__)

INITIATED_FROM_SCHEDULE = "schedule"
# Just after the minute turns, so that the tick is due when the query runs.
_AFTER_MINUTE_SECONDS = 0.05


class ScheduleFirer:
    """Starts the trials of due schedules from one worker."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        creation_hooks: TrialCreationHooks | None = None,
        on_fired: Callable[[], None] | None = None,
        poll_seconds: float = 15.0,
        batch_size: int = 100,
    ) -> None:
        self._store = store
        self._clock = clock or store.clock
        self._schedules = ScheduleRepository(store.engine, self._clock)
        self._hooks = creation_hooks or TrialCreationHooks([])
        self._on_fired = on_fired
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        *,
        on_fired: Callable[[], None] | None = None,
    ) -> ScheduleFirer:
        """A firer with the settings' creation hooks and poll interval; raises
        `InvalidInput` when a creation hook cannot be loaded."""
        return cls(
            store,
            creation_hooks=TrialCreationHooks(settings.trial_creation_hooks),
            on_fired=on_fired,
            poll_seconds=settings.schedule_poll_seconds,
        )

    async def run(self) -> None:
        """Fire due schedules until cancelled; errors are logged and retried."""
        while True:
            try:
                await self.fire_due()
            except Exception:
                logger.exception(
                    "firing schedules failed; will retry", extra={"action": "schedule"}
                )
            await asyncio.sleep(self._delay())

    def _delay(self) -> float:
        now = self._clock()
        next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        until_tick = (next_minute - now).total_seconds() + _AFTER_MINUTE_SECONDS
        return max(0.0, min(self._poll_seconds, until_tick))

    async def fire_due(self, now: datetime | None = None) -> list[TrialPublic]:
        """Start one trial for each live schedule whose next tick is at or before
        `now` (default: the clock), and return the trials this firer started.

        A tick another worker fired meanwhile is skipped. A tick a creation hook
        refuses is skipped too (logged; the countdown does not move). A schedule
        whose experiment has gone is retired. Other errors leave the tick due for
        the next call.
        """
        moment = self._clock() if now is None else now
        started = await self._store.run(self._fire_due, moment)
        if started and self._on_fired is not None:
            self._on_fired()
        return started

    def _fire_due(self, now: datetime) -> list[TrialPublic]:
        started: list[TrialPublic] = []
        while True:
            ticks = self._schedules.due(now, self._batch_size)
            handled = 0
            for tick in ticks:
                done, trial = self._fire_one(tick, now)
                handled += done
                if trial is not None:
                    started.append(trial)
            # A full batch may hide more due schedules; go on while ticks get
            # handled (ticks that keep failing are retried at the next look).
            if len(ticks) < self._batch_size or handled == 0:
                return started

    def _fire_one(
        self, tick: DueTick, now: datetime
    ) -> tuple[bool, TrialPublic | None]:
        """Fire one tick; return whether it was dealt with, and the trial started."""
        extra = {"action": "schedule", "schedule_id": tick.schedule_id}
        try:
            trial = self._fire(tick, now)
        except InvalidInput as err:
            if err.field == "experiment":
                logger.warning("schedule retired: %s", err, extra=extra)
                self._schedules.retire(tick.schedule_id, now)
                return True, None
            return self._refused(tick, now, err, extra), None
        except KallistiError as err:
            return self._refused(tick, now, err, extra), None
        except Exception:
            logger.exception("firing the schedule failed; will retry", extra=extra)
            return False, None
        if trial is not None:
            logger.info(
                "schedule started trial %s",
                trial.id,
                extra={**extra, "trial_id": str(trial.id)},
            )
        return True, trial

    def _refused(
        self, tick: DueTick, now: datetime, err: KallistiError, extra: dict[str, str]
    ) -> bool:
        logger.warning("scheduled trial refused, tick skipped: %s", err, extra=extra)
        try:
            self._skip(tick, now, str(err))
        except Exception:
            logger.exception("skipping the tick failed; will retry", extra=extra)
            return False
        return True

    def _next_tick(self, tick: DueTick, now: datetime) -> datetime | None:
        try:
            return next_fire_time(tick.recurrence_pattern, tick.timezone, now)
        except ValueError:
            return None  # the pattern has no future tick: the schedule is spent

    def _fire(self, tick: DueTick, now: datetime) -> TrialPublic | None:
        with self._store.write() as conn:
            row = ScheduleRepository.claim_tick(
                conn, tick, self._next_tick(tick, now), now
            )
            if row is None:
                return None  # another worker fired this tick
            request = self._hooks.apply(
                TrialCreate(
                    experiment=row.experiment_id,
                    # Precedence trial > schedule > experiment: the schedule's
                    # parameters become the trial's, laid over the experiment's.
                    parameters=row.parameters,
                    metadata=row.metadata,
                    ticket=row.ticket,
                )
            )
            return self._store.trials.create(
                request,
                initiated_by=row.created_by,
                initiated_from=INITIATED_FROM_SCHEDULE,
                schedule_id=uuid.UUID(row.id),
                conn=conn,
            )

    def _skip(self, tick: DueTick, now: datetime, reason: str) -> None:
        with self._store.write() as conn:
            ScheduleRepository.skip_tick(
                conn, tick, self._next_tick(tick, now), now=now, reason=reason[:2000]
            )
