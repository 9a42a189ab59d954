"""The worker's queries: claiming trials, holding their lease, closing them.

Invariants, whichever the database:
- a trial is claimed by at most one worker: the claim is one UPDATE that moves a
  `Scheduled` row to `In Progress` (PostgreSQL picks rows with
  FOR UPDATE SKIP LOCKED so concurrent workers never wait on each other;
  SQLite serialises writers with BEGIN IMMEDIATE, and the outer
  `status = 'Scheduled'` check makes the UPDATE safe on its own);
- only the lease holder writes a running trial's record or closes it: every
  such write names `worker_id` and a running status, and reports whether it
  still held the trial;
- a trial whose lease has expired is taken over for recovery, never re-run.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from kallisti.domain.models import TrialStatus
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.db import DriverStatement
from kallisti.store.tables import UTCDateTime, trials

__all__ = [
    "RUNNING_STATUSES",
    "accepted_stop",
    "claim_orphans",
    "claim_scheduled",
    "close_trial",
    "renew_leases",
    "save_record",
    "stop_requests",
    "work_waiting",
]

RUNNING_STATUSES = (TrialStatus.IN_PROGRESS.value, TrialStatus.STOP_INITIATED.value)


def _pick(dialect: str, where: sa.ColumnElement[bool], limit: Any) -> Any:
    """The ids to claim, oldest first, as something `IN` can take.

    On PostgreSQL the pick is a MATERIALIZED CTE: as a plain `IN (subquery)` the
    planner may run the subquery more than once, each run skipping different
    locked rows, and so claim more than `limit` trials.
    """
    pick = (
        sa.select(trials.c.id).where(where).order_by(trials.c.created_at).limit(limit)
    )
    if dialect != "postgresql":
        return pick.scalar_subquery()
    picked = pick.with_for_update(skip_locked=True).cte("picked")
    picked = picked.prefix_with("MATERIALIZED")
    return sa.select(picked.c.id)


def _due(now: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    """Scheduled trials a claim may take at `now`: a trial waiting for a
    target or its turn is looked at again from `not_before`, not at every
    poll."""
    return (trials.c.status == TrialStatus.SCHEDULED.value) & (
        trials.c.not_before.is_(None) | (trials.c.not_before <= now)
    )


def _lease_expired(
    now: datetime | sa.BindParameter[datetime],
) -> sa.ColumnElement[bool]:
    """Running trials whose worker was lost: their lease ran out."""
    return trials.c.status.in_(RUNNING_STATUSES) & (trials.c.lease_expires_at < now)


def work_waiting(conn: Connection, now: datetime) -> bool:
    """Whether a claim at `now` could find anything: a due Scheduled trial or
    an expired lease. One read that locks nothing, for an idle worker's poll
    to ask before it opens a claim's write transaction."""
    query = sa.select(
        sa.or_(
            sa.exists().where(_due(now)),
            sa.exists().where(_lease_expired(now)),
        )
    )
    return bool(conn.execute(query).scalar())


def claim_scheduled(
    conn: Connection, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[Any]:
    """Claim up to `limit` Scheduled trials, oldest first; return their rows
    (each value by its column's name, as an attribute)."""
    rows = [
        SimpleNamespace(**row)
        for row in _claim_statement(conn.dialect).mappings(
            conn,
            now=now,
            claimed_by=worker_id,
            lease_until=lease_until,
            limit=limit,
        )
    ]
    _record_status(
        conn,
        now,
        worker_id,
        [r.id for r in rows],
        TrialStatus.SCHEDULED,
        TrialStatus.IN_PROGRESS,
    )
    return rows


# Built once per dialect, with parameters, and run on the driver (see
# `DriverStatement`): building a statement (and its cache key) on every claim
# and close cost more than running it, and SQLAlchemy's execution as much again.
@functools.lru_cache(maxsize=8)
def _claim_statement(dialect: Dialect) -> DriverStatement:
    now = sa.bindparam("now", type_=UTCDateTime)
    scheduled = _due(now)
    pick = _pick(dialect.name, scheduled, sa.bindparam("limit"))
    claim = (
        trials.update()
        .where(trials.c.id.in_(pick))
        .where(scheduled)
        .values(
            status=TrialStatus.IN_PROGRESS.value,
            worker_id=sa.bindparam("claimed_by"),
            lease_expires_at=sa.bindparam("lease_until", type_=UTCDateTime),
            executed_at=now,
        )
        .returning(*trials.c)
    )
    return DriverStatement(claim, dialect)


def claim_orphans(
    conn: Connection, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[Any]:
    """Take over running trials whose lease expired (their worker was lost).

    Each row also carries `lost_worker_id` and `lost_lease_expires_at`: who
    held the trial and when that lease ran out (the row's own columns already
    name the new holder). The pick locks the rows (PostgreSQL: FOR UPDATE SKIP
    LOCKED; SQLite: the write transaction), so the holder read is the one
    replaced.
    """
    expired = _lease_expired(now)
    pick = (
        sa.select(trials.c.id, trials.c.worker_id, trials.c.lease_expires_at)
        .where(expired)
        .order_by(trials.c.created_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    lost = {row.id: row for row in conn.execute(pick)}
    if not lost:
        return []
    statement = (
        trials.update()
        .where(trials.c.id.in_(list(lost)))
        .where(expired)
        .values(worker_id=worker_id, lease_expires_at=lease_until)
        .returning(*trials.c)
    )
    return [
        SimpleNamespace(
            **row._mapping,
            lost_worker_id=lost[row.id].worker_id,
            lost_lease_expires_at=lost[row.id].lease_expires_at,
        )
        for row in conn.execute(statement)
    ]


def _held(
    trial_id: str | sa.BindParameter[Any], worker_id: str | sa.BindParameter[Any]
) -> sa.ColumnElement[bool]:
    # Equalities rather than `IN`: a statement with a fixed `IN` list cannot
    # be compiled once for the driver (`DriverStatement`).
    running = sa.or_(*(trials.c.status == status for status in RUNNING_STATUSES))
    return (trials.c.id == trial_id) & (trials.c.worker_id == worker_id) & running


def renew_leases(
    conn: Connection, worker_id: str, trial_ids: Sequence[str], lease_until: datetime
) -> set[str]:
    """Extend the leases this worker holds; return the ids it still holds."""
    if not trial_ids:
        return set()
    statement = (
        trials.update()
        .where(trials.c.id.in_(trial_ids))
        .where(trials.c.worker_id == worker_id)
        .where(trials.c.status.in_(RUNNING_STATUSES))
        .values(lease_expires_at=lease_until)
        .returning(trials.c.id)
    )
    return set(conn.execute(statement).scalars())


def stop_requests(conn: Connection, worker_id: str) -> list[tuple[str, str, str]]:
    """Return (id, reason, cause) of this worker's trials that were asked to stop."""
    statement = sa.select(trials.c.id, trials.c.stop_reason, trials.c.stop_cause).where(
        (trials.c.worker_id == worker_id)
        & (trials.c.status == TrialStatus.STOP_INITIATED.value)
    )
    return [
        (row.id, row.stop_reason or "stop requested", row.stop_cause or "user")
        for row in conn.execute(statement)
    ]


def save_record(
    conn: Connection, trial_id: str, worker_id: str, record: dict[str, Any]
) -> bool:
    """Write a running trial's record; False when this worker no longer holds it."""
    saved = _save_statement(conn.dialect).run(
        conn, held_trial=trial_id, held_by=worker_id, live_record=record
    )
    return saved is not None


@functools.lru_cache(maxsize=8)
def _save_statement(dialect: Dialect) -> DriverStatement:
    held = _held(sa.bindparam("held_trial"), sa.bindparam("held_by"))
    record = sa.bindparam("live_record", type_=trials.c.trial_record.type)
    save = trials.update().where(held).values(trial_record=record)
    return DriverStatement(save.returning(trials.c.id), dialect)


def accepted_stop(conn: Connection, trial_id: str, worker_id: str) -> str | None:
    """The reason of a stop accepted for a trial this worker holds, or None."""
    return conn.execute(
        sa.select(sa.func.coalesce(trials.c.stop_reason, "stop requested")).where(
            (trials.c.id == trial_id)
            & (trials.c.worker_id == worker_id)
            & (trials.c.status == TrialStatus.STOP_INITIATED.value)
        )
    ).scalar()


def close_trial(
    conn: Connection,
    trial_id: str,
    worker_id: str,
    status: TrialStatus,
    record: dict[str, Any],
    now: datetime,
    *,
    stop_cause: str | None = None,
) -> bool:
    """Write the complete record and the terminal status together (and why it
    ended early, when it did).

    Once a stop has been accepted (`Stop Initiated`) only `Stopped` closes the
    trial: any other status is refused (False), and `accepted_stop` says why.
    """
    statement = _close_statement(
        conn.dialect,
        stopping=status is TrialStatus.STOPPED,
        with_cause=stop_cause is not None,
    )
    values = {
        "held_trial": trial_id,
        "held_by": worker_id,
        "new_status": status.value,
        "final_record": record,
        "ended_at": now,
    }
    if stop_cause is not None:
        values["cause"] = stop_cause
    closed = statement.run(conn, **values) is not None
    if closed:
        _record_status(conn, now, worker_id, [trial_id], None, status)
    return closed


@functools.lru_cache(maxsize=16)
def _close_statement(
    dialect: Dialect, *, stopping: bool, with_cause: bool
) -> DriverStatement:
    # Not named after columns: those names are the SET clause's own.
    held = _held(sa.bindparam("held_trial"), sa.bindparam("held_by"))
    if not stopping:
        held = held & (trials.c.status != TrialStatus.STOP_INITIATED.value)
    values: dict[str, Any] = {
        "status": sa.bindparam("new_status"),
        "trial_record": sa.bindparam("final_record", type_=trials.c.trial_record.type),
        "completed_at": sa.bindparam("ended_at", type_=UTCDateTime),
        "worker_id": sa.null(),
        "lease_expires_at": sa.null(),
    }
    if with_cause:
        values["stop_cause"] = sa.bindparam("cause")
    close = trials.update().where(held).values(**values).returning(trials.c.id)
    return DriverStatement(close, dialect)


def _record_status(
    conn: Connection,
    now: datetime,
    worker_id: str,
    trial_ids: Sequence[str],
    old: TrialStatus | None,
    new: TrialStatus,
) -> None:
    """Audit the status change in the same transaction (its last statement)."""
    detail = {"to": new.value} if old is None else {"from": old.value, "to": new.value}
    changes = [
        AuditChange("trial.status", "trial", trial_id, detail=detail)
        for trial_id in trial_ids
    ]
    audit_changes(conn, now, changes, actor=f"worker:{worker_id}")
