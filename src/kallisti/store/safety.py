"""The safety rows: the halt switch, blackout windows, target leases.

Invariants, whichever the database:
- the halt switch and the trial it would refuse never race: creating a trial
  reads the switch row FOR SHARE (PostgreSQL) in the creating transaction, and
  halting updates that row before it stops the trials, so a trial is either
  refused or seen (and stopped) by the halt; SQLite serialises the writers;
- target leases are taken one trial at a time (a transaction-scoped advisory
  lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two trials never both see
  a target free;
- a lease is live while its trial runs under a live worker lease: a lost
  worker's leases lapse with it, with no clean-up needed.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from kallisti.domain.errors import NotFound, Refused
from kallisti.domain.models import ExperimentPublic, TrialStatus, stored_experiment
from kallisti.domain.record import TrialRecord
from kallisti.domain.safety import (
    BlackoutWindow,
    HaltPublic,
    StopCause,
    open_window,
    targets_overlap,
)
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.base import Repository
from kallisti.store.db import DriverStatement
from kallisti.store.tables import safety_switches, target_leases, trials

__all__ = [
    "LeaseHolder",
    "SafetyRepository",
    "halted",
    "may_start",
    "open_blackout",
    "release_leases",
    "take_leases",
]

_WINDOWS = TypeAdapter(list[BlackoutWindow])
_RUNNING = (TrialStatus.IN_PROGRESS.value, TrialStatus.STOP_INITIATED.value)
# Any fixed number: the key of the lock that serialises lease taking.
_LEASE_LOCK_KEY = 0x6B616C6C


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a target another trial wants."""

    trial_id: str
    target: str


@dataclass(frozen=True)
class _Switch:
    """The halt switch row as read, its blackout windows parsed."""

    halted: bool = False
    halted_by: str | None = None
    halt_reason: str | None = None
    halted_at: datetime | None = None
    windows: tuple[BlackoutWindow, ...] = ()

    def open_blackout(
        self, now: datetime, configured: Sequence[BlackoutWindow]
    ) -> BlackoutWindow | None:
        return open_window([*self.windows, *configured], now)


_SWITCH = sa.select(
    safety_switches.c.halted,
    safety_switches.c.halted_by,
    safety_switches.c.halt_reason,
    safety_switches.c.halted_at,
    safety_switches.c.blackout_windows,
).where(safety_switches.c.id == 1)


# Every trial's creation and every claim reads the switch: the statement is
# compiled once per dialect and run on the driver's cursor (see
# `DriverStatement`), and the stored windows are parsed once per value.
@functools.lru_cache(maxsize=16)
def _switch_statement(dialect: Dialect, *, lock: bool) -> DriverStatement:
    statement = _SWITCH.with_for_update(read=True) if lock else _SWITCH
    return DriverStatement(statement, dialect)


def _switch(conn: Connection, *, lock: bool = False) -> _Switch:
    """The switch row in this transaction (`lock`: FOR SHARE on PostgreSQL, so
    a halt waits for the creating transaction, and the other way round)."""
    found = _switch_statement(conn.dialect, lock=lock).mappings(conn)
    if not found:
        return _Switch()
    row = found[0]
    return _Switch(
        halted=bool(row["halted"]),
        halted_by=row["halted_by"],
        halt_reason=row["halt_reason"],
        halted_at=row["halted_at"],
        windows=_stored_windows(row["blackout_windows"]),
    )


def _stored_windows(stored: list[Any] | None) -> tuple[BlackoutWindow, ...]:
    return _parsed_windows(orjson.dumps(stored)) if stored else ()


@functools.lru_cache(maxsize=16)
def _parsed_windows(stored: bytes) -> tuple[BlackoutWindow, ...]:
    return tuple(_WINDOWS.validate_json(stored))


def halted(conn: Connection) -> HaltPublic:
    """The halt switch as it is in this transaction."""
    switch = _switch(conn)
    if not switch.halted:
        return HaltPublic(halted=False)
    return HaltPublic(
        halted=True,
        reason=switch.halt_reason,
        by=switch.halted_by,
        at=switch.halted_at,
    )


def open_blackout(
    conn: Connection, now: datetime, configured: Sequence[BlackoutWindow] = ()
) -> BlackoutWindow | None:
    """The blackout window open at `now` (the stored ones, then the configured)."""
    return _switch(conn).open_blackout(now, configured)


def may_start(
    conn: Connection, now: datetime, configured: Sequence[BlackoutWindow] = ()
) -> bool:
    """Whether a trial may start at `now`: not halted, no blackout window open
    (one read of the switch: an idle worker asks at every poll)."""
    switch = _switch(conn)
    return not switch.halted and switch.open_blackout(now, configured) is None


class SafetyRepository(Repository):
    """The halt switch, blackout windows and target leases."""

    configured_windows: tuple[BlackoutWindow, ...] = ()
    """Windows from KALLISTI_BLACKOUT_WINDOWS, besides the stored ones."""

    def check_may_start(self, conn: Connection) -> None:
        """Refuse a new trial while halted or in a blackout window.

        Runs in the creating transaction. Raises `Refused` naming the reason.
        """
        switch = _switch(conn, lock=True)
        if switch.halted:
            raise Refused(
                f"Chaos is halted by {switch.halted_by}: {switch.halt_reason}. "
                "No trial starts until it is resumed (DELETE /api/v1/halt)."
            )
        window = switch.open_blackout(self._clock(), self.configured_windows)
        if window is not None:
            raise Refused(
                f"The blackout window {window.name!r} is open: no trial starts "
                "while it lasts."
            )

    def halt_state(self) -> HaltPublic:
        with self._read() as conn:
            return halted(conn)

    def halt(self, reason: str, by: str) -> HaltPublic:
        """Turn the halt switch on and stop every Scheduled or In Progress trial.

        Scheduled trials end `Stopped` at once; In Progress ones turn
        `Stop Initiated` and their workers stop them (post steps run).
        """
        now = self._clock()
        why = f"halted by {by}: {reason}"
        record = TrialRecord(clock=lambda: now)
        record.result(f"Trial Stopped before it started: {why}. Nothing ran.", "ERROR")
        with self._write() as conn:
            conn.execute(
                safety_switches.update()
                .where(safety_switches.c.id == 1)
                .values(
                    halted=True,
                    halt_reason=reason,
                    halted_by=by,
                    halted_at=now,
                    updated_at=now,
                )
            )
            stopped = (
                conn.execute(
                    trials.update()
                    .where(trials.c.status == TrialStatus.SCHEDULED.value)
                    .values(
                        status=TrialStatus.STOPPED.value,
                        stop_reason=why,
                        stop_cause=StopCause.HALT.value,
                        trial_record=record.to_json(),
                        completed_at=now,
                    )
                    .returning(trials.c.id)
                )
                .scalars()
                .all()
            )
            changes = [AuditChange("halt.on", "halt", None, detail={"reason": reason})]
            changes += _status_changes(
                stopped, TrialStatus.SCHEDULED, TrialStatus.STOPPED
            )
            stopping = (
                conn.execute(
                    trials.update()
                    .where(trials.c.status == TrialStatus.IN_PROGRESS.value)
                    .values(
                        status=TrialStatus.STOP_INITIATED.value,
                        stop_reason=why,
                        stop_cause=StopCause.HALT.value,
                    )
                    .returning(trials.c.id)
                )
                .scalars()
                .all()
            )
            changes += _status_changes(
                stopping, TrialStatus.IN_PROGRESS, TrialStatus.STOP_INITIATED
            )
            audit_changes(conn, now, changes, actor=by)
            return halted(conn)

    def resume(self) -> HaltPublic:
        """Turn the halt switch off: trials may start again."""
        with self._write() as conn:
            conn.execute(
                safety_switches.update()
                .where(safety_switches.c.id == 1)
                .values(
                    halted=False,
                    halt_reason=None,
                    halted_by=None,
                    halted_at=None,
                    updated_at=self._clock(),
                )
            )
            audit_changes(conn, self._clock(), [AuditChange("halt.off", "halt", None)])
            return halted(conn)

    def blackout_windows(self) -> list[BlackoutWindow]:
        with self._read() as conn:
            return list(_switch(conn).windows)

    def replace_blackout_windows(
        self, windows: list[BlackoutWindow]
    ) -> list[BlackoutWindow]:
        with self._write() as conn:
            conn.execute(
                safety_switches.update()
                .where(safety_switches.c.id == 1)
                .values(
                    blackout_windows=_WINDOWS.dump_python(windows, mode="json"),
                    updated_at=self._clock(),
                )
            )
            after = _WINDOWS.dump_python(windows, mode="json")
            change = AuditChange("blackout.replace", "blackout", None, after=after)
            audit_changes(conn, self._clock(), [change])
        return windows

    def trial_plan(
        self, trial_id: uuid.UUID
    ) -> tuple[ExperimentPublic, dict[str, Any]]:
        """The experiment a trial runs (its snapshot) and the trial's own
        parameters, for naming its targets; raises `NotFound`. Check the
        caller's scope first (`trials.get`)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(trials.c.experiment_snapshot, trials.c.parameters).where(
                    trials.c.id == str(trial_id)
                )
            ).first()
        if row is None:
            raise NotFound("Trial", trial_id)
        return stored_experiment(row.experiment_snapshot), dict(row.parameters or {})


def _status_changes(
    trial_ids: Iterable[str], old: TrialStatus, new: TrialStatus
) -> list[AuditChange]:
    detail = {"from": old.value, "to": new.value}
    return [AuditChange("trial.status", "trial", i, detail=detail) for i in trial_ids]


def take_leases(
    conn: Connection, trial_id: str, targets: Iterable[str], now: datetime
) -> LeaseHolder | None:
    """Lease `targets` to the trial, or return who holds one of them.

    All or nothing: on a conflict no lease is taken.
    """
    wanted = sorted(set(targets))
    if not wanted:
        return None
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LEASE_LOCK_KEY)))
    live = conn.execute(
        sa.select(target_leases.c.trial_id, target_leases.c.target)
        .join(trials, trials.c.id == target_leases.c.trial_id)
        .where(trials.c.status.in_(_RUNNING))
        .where(trials.c.lease_expires_at >= now)
        .where(target_leases.c.trial_id != trial_id)
    ).all()
    for held in live:
        for target in wanted:
            if targets_overlap(held.target, target):
                return LeaseHolder(trial_id=held.trial_id, target=held.target)
    # Leases of trials that have ended are free; drop them as we go.
    conn.execute(
        target_leases.delete().where(
            (target_leases.c.trial_id == trial_id)
            | target_leases.c.trial_id.not_in(
                sa.select(trials.c.id).where(trials.c.status.in_(_RUNNING))
            )
        )
    )
    conn.execute(
        target_leases.insert(),
        [{"trial_id": trial_id, "target": t, "acquired_at": now} for t in wanted],
    )
    return None


def release_leases(conn: Connection, trial_id: str) -> None:
    conn.execute(target_leases.delete().where(target_leases.c.trial_id == trial_id))
