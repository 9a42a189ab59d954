"""Which claimed trials may start now.

The worker asks in its claim transaction. A halt or an open blackout window
starts nothing. A claimed trial over its experiment's `max_concurrent_trials`,
or whose targets overlap a running trial's, goes back to `Scheduled` with a
readable `waiting_for`, and is looked at again shortly; one that has waited
for a target longer than `target_lease_wait_seconds` fails, saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from kallisti.domain.models import TrialStatus, stored_experiment
from kallisti.domain.record import TrialRecord
from kallisti.domain.templating import Templates
from kallisti.modules.registry import ModuleRegistry
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store.safety import may_start, take_leases
from kallisti.store.tables import trials

__all__ = ["Admission"]

logger = logging.getLogger(__name__)

# How soon a waiting trial is looked at again.
RETRY_SECONDS = 0.5
_RUNNING = (TrialStatus.IN_PROGRESS.value, TrialStatus.STOP_INITIATED.value)


class Admission:
    """The safety checks between claiming a trial and running it."""

    def __init__(
        self, settings: Settings, store: Store, modules: ModuleRegistry | None = None
    ) -> None:
        self._settings = settings
        self._store = store
        self._modules = modules
        store.safety.configured_windows = tuple(settings.blackout_windows)

    def may_claim(self, conn: Connection, now: datetime) -> bool:
        """Tell whether any trial may start now (no halt, no blackout window)."""
        return may_start(conn, now, self._settings.blackout_windows)

    def admit(self, conn: Connection, rows: Sequence[Any], now: datetime) -> list[Any]:
        """The claimed rows that may run now; the others go back to waiting."""
        admitted: list[Any] = []
        undecided = {row.id for row in rows}
        for row in rows:
            undecided.discard(row.id)
            turn = self._turn(conn, row, undecided)
            target = None if turn is not None else self._targets(conn, row, now)
            waiting_for = turn or target
            if waiting_for is None:
                if row.waiting_for is not None:
                    conn.execute(
                        trials.update()
                        .where(trials.c.id == row.id)
                        .values(waiting_for=None, not_before=None)
                    )
                admitted.append(row)
            elif target is not None and self._waited_too_long(row, now):
                self._fail(conn, row, waiting_for, now)
            else:
                self._defer(conn, row, waiting_for, now)
        return admitted

    def _turn(self, conn: Connection, row: Any, undecided: set[str]) -> str | None:
        limit = row.experiment_snapshot.get("max_concurrent_trials")
        if not limit:
            return None
        running = conn.execute(
            sa.select(sa.func.count())
            .select_from(trials)
            .where(trials.c.experiment_id == row.experiment_id)
            .where(trials.c.status.in_(_RUNNING))
            .where(trials.c.id.not_in([row.id, *undecided]))
        ).scalar_one()
        if running < limit:
            return None
        return (
            f"its turn: {running} trial(s) of this experiment are running "
            f"(max_concurrent_trials {limit})"
        )

    def _targets(self, conn: Connection, row: Any, now: datetime) -> str | None:
        wanted = self.targets_of(row)
        holder = take_leases(conn, row.id, wanted, now)
        if holder is None:
            return None
        return f"target {holder.target} held by trial {holder.trial_id}"

    def targets_of(self, row: Any) -> list[str]:
        """The targets the trial's changing steps name (after templating)."""
        if self._modules is None:
            return []
        experiment = stored_experiment(row.experiment_snapshot)
        templates = Templates({**experiment.parameters, **row.parameters})
        found: list[str] = []
        for step in (*experiment.pre_steps, *experiment.steps, *experiment.post_steps):
            try:
                action = self._modules.resolve(step.do)
                found.extend(action.targets(templates.render(step.where)))
            except Exception:  # the engine reports a step it cannot run
                continue
        return found

    def _waited_too_long(self, row: Any, now: datetime) -> bool:
        since = row.waiting_since or now
        waited = (now - since).total_seconds()
        return waited >= self._settings.target_lease_wait_seconds

    def _defer(self, conn: Connection, row: Any, why: str, now: datetime) -> None:
        conn.execute(
            trials.update()
            .where(trials.c.id == row.id)
            .values(
                status=TrialStatus.SCHEDULED.value,
                worker_id=None,
                lease_expires_at=None,
                executed_at=None,
                waiting_for=why,
                waiting_since=row.waiting_since or now,
                not_before=now + timedelta(seconds=RETRY_SECONDS),
            )
        )

    def _fail(self, conn: Connection, row: Any, why: str, now: datetime) -> None:
        waited = self._settings.target_lease_wait_seconds
        record = TrialRecord(clock=lambda: now)
        record.result(
            f"Trial Failed. Type: TargetLeaseTimeout. Error: waited {waited:g} "
            f"seconds for {why}; nothing ran.",
            "ERROR",
        )
        conn.execute(
            trials.update()
            .where(trials.c.id == row.id)
            .values(
                status=TrialStatus.FAILED.value,
                trial_record=record.to_json(),
                completed_at=now,
                worker_id=None,
                lease_expires_at=None,
                waiting_for=why,
            )
        )
        logger.warning(
            "trial failed waiting for a target: %s",
            why,
            extra={"trial_id": row.id, "action": "target_lease"},
        )
