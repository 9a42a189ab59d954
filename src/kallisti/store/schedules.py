"""Reading and writing trial schedules, and the queries that fire them.

A schedule belongs to a live experiment: a schedule is gone (404, never fired)
when it or its experiment is soft-deleted, whether or not the experiment's
delete hook has marked it yet.

Firing invariant: each cron tick of a schedule starts at most one trial, however
many workers run. `next_fire_at` names the tick a schedule fires next; a worker
claims it with one UPDATE conditional on the value it saw (`claim_tick`), in the
same transaction that records the trial. Concurrent claims of one tick serialise
on the row (PostgreSQL row lock, SQLite's single writer): the first moves
`next_fire_at` on and the others match no row.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from kallisti.domain.errors import NotFound
from kallisti.domain.schedules import (
    ScheduleCreate,
    SchedulePublic,
    ScheduleTrial,
    ScheduleUpdate,
    next_fire_time,
)
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.base import Repository
from kallisti.store.repositories import Page
from kallisti.store.scoping import LabelScope, experiment_in_scope
from kallisti.store.tables import experiments, schedules, trials

__all__ = ["DueTick", "ScheduleRepository"]


@dataclass(frozen=True)
class DueTick:
    """A schedule whose next tick has come: what a worker needs to claim it."""

    schedule_id: str
    next_fire_at: datetime
    recurrence_pattern: str
    timezone: str


_LIVE = schedules.c.deleted_at.is_(None) & experiments.c.deleted_at.is_(None)
_WITH_EXPERIMENT = schedules.join(
    experiments, experiments.c.id == schedules.c.experiment_id
)
_COLUMNS = (
    *schedules.c,
    experiments.c.metadata.label("experiment_metadata"),
    experiments.c.deleted_at.label("experiment_deleted_at"),
)


def _first_tick(
    pattern: str, timezone: str, left: int | None, now: datetime
) -> datetime | None:
    return None if left == 0 else next_fire_time(pattern, timezone, now)


class ScheduleRepository(Repository):
    """Schedules of experiments. Every acknowledged write is committed on return."""

    # --- the API's operations -------------------------------------------------

    def create(
        self, experiment_id: uuid.UUID, data: ScheduleCreate, created_by: str
    ) -> SchedulePublic:
        """Store a schedule of a live experiment; raises `NotFound` otherwise."""
        now = self._clock()
        schedule_id = uuid.uuid4()
        values = {
            "id": str(schedule_id),
            "experiment_id": str(experiment_id),
            "parameters": data.parameters,
            "metadata": data.metadata,
            "ticket": data.ticket,
            "recurrence_pattern": data.recurrence_pattern,
            "timezone": data.timezone,
            "recurrence_count": data.recurrence_count,
            "recurrence_left": data.recurrence_count,
            "next_fire_at": _first_tick(
                data.recurrence_pattern, data.timezone, data.recurrence_count, now
            ),
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        }
        with self._write() as conn:
            _require_live_experiment(conn, experiment_id)
            conn.execute(schedules.insert().values(values))
            row = self._select_one(conn, experiment_id, schedule_id)
            assert row is not None
            change = AuditChange(
                "schedule.create", "schedule", str(schedule_id), None, values
            )
            audit_changes(conn, now, [change], actor=created_by)
            return _public(row, [])

    def get(self, experiment_id: uuid.UUID, schedule_id: uuid.UUID) -> SchedulePublic:
        """Return a schedule with its trials, also a deleted one or one of a
        deleted experiment (as Kallisti: by id, deleted objects stay readable);
        raises `NotFound`."""
        with self._read() as conn:
            row = self._select_one(conn, experiment_id, schedule_id)
            if row is None:
                raise NotFound("Schedule", schedule_id)
            return _public(row, _trials_of(conn, [row.id]).get(row.id, []))

    def list(
        self, experiment_id: uuid.UUID, page: Page | None = None
    ) -> tuple[list[SchedulePublic], int]:
        """Return one page of an experiment's live schedules, oldest first, and
        their total (none for an unknown or deleted experiment, as Kallisti)."""
        return self.list_all(page, experiment_id=experiment_id)

    def list_all(
        self,
        page: Page | None = None,
        *,
        experiment_id: uuid.UUID | None = None,
        active: bool | None = None,
        scope: LabelScope | None = None,
    ) -> tuple[builtins.list[SchedulePublic], int]:
        """Return one page of the live schedules of every live experiment in
        `scope` (None: all), oldest first, and their total. `active` keeps only
        schedules that will fire again (True) or never will (False)."""
        page = page or Page()
        where = _LIVE
        if experiment_id is not None:
            where = where & (schedules.c.experiment_id == str(experiment_id))
        if active is not None:
            fires = schedules.c.next_fire_at.is_not(None)
            where = where & (fires if active else ~fires)
        if scope is not None:
            where = where & experiment_in_scope(self._engine.dialect.name, scope)
        query = (
            sa.select(*_COLUMNS)
            .select_from(_WITH_EXPERIMENT)
            .where(where)
            .order_by(schedules.c.created_at, schedules.c.id)
            .offset(page.offset)
            .limit(page.limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(
                sa.select(sa.func.count()).select_from(_WITH_EXPERIMENT).where(where)
            ).scalar_one()
            by_schedule = _trials_of(conn, [row.id for row in rows])
        return [_public(row, by_schedule.get(row.id, [])) for row in rows], total

    def replace(
        self, experiment_id: uuid.UUID, schedule_id: uuid.UUID, data: ScheduleCreate
    ) -> SchedulePublic:
        """Replace every writable field (PUT); raises `NotFound`."""
        return self._change(experiment_id, schedule_id, data.model_dump())

    def update(
        self, experiment_id: uuid.UUID, schedule_id: uuid.UUID, data: ScheduleUpdate
    ) -> SchedulePublic:
        """Change the fields given (PATCH); raises `NotFound`."""
        changes = {field: getattr(data, field) for field in data.model_fields_set}
        return self._change(experiment_id, schedule_id, changes)

    def delete(self, experiment_id: uuid.UUID, schedule_id: uuid.UUID) -> None:
        """Soft-delete a schedule: it never fires again; its trials stay. Deleting
        a deleted schedule changes nothing. Raises `NotFound`."""
        with self._write() as conn:
            if self._select_one(conn, experiment_id, schedule_id) is None:
                raise NotFound("Schedule", schedule_id)
            conn.execute(
                schedules.update()
                .where(schedules.c.id == str(schedule_id))
                .where(schedules.c.deleted_at.is_(None))
                .values(deleted_at=self._clock(), next_fire_at=None)
            )
            change = AuditChange("schedule.delete", "schedule", str(schedule_id))
            audit_changes(conn, self._clock(), [change])

    def delete_for_experiment(
        self, conn: Connection, experiment_id: uuid.UUID, now: datetime
    ) -> None:
        """Soft-delete every schedule of an experiment, inside the caller's
        transaction (an `ExperimentRepository.on_soft_delete` hook)."""
        conn.execute(
            schedules.update()
            .where(schedules.c.experiment_id == str(experiment_id))
            .where(schedules.c.deleted_at.is_(None))
            .values(deleted_at=now, next_fire_at=None)
        )

    def _change(
        self,
        experiment_id: uuid.UUID,
        schedule_id: uuid.UUID,
        changes: Mapping[str, Any],
    ) -> SchedulePublic:
        now = self._clock()
        with self._write() as conn:
            row = self._select_one(conn, experiment_id, schedule_id, for_update=True)
            if row is None:
                raise NotFound("Schedule", schedule_id)
            values = dict(changes)
            pattern = values.get("recurrence_pattern", row.recurrence_pattern)
            timezone = values.get("timezone", row.timezone)
            left = row.recurrence_left
            count_changed = (
                "recurrence_count" in values
                and values["recurrence_count"] != row.recurrence_count
            )
            if count_changed:
                # Kallisti's rule: a new count restarts the countdown.
                left = values["recurrence_count"]
                values["recurrence_left"] = left
            timing_changed = (
                pattern != row.recurrence_pattern or timezone != row.timezone
            )
            retired = (
                row.deleted_at is not None or row.experiment_deleted_at is not None
            )
            if left == 0 or retired:
                values["next_fire_at"] = None
            elif timing_changed or count_changed or row.next_fire_at is None:
                values["next_fire_at"] = next_fire_time(pattern, timezone, now)
            conn.execute(
                schedules.update()
                .where(schedules.c.id == str(schedule_id))
                .values(**values, updated_at=now)
            )
            changed = self._select_one(conn, experiment_id, schedule_id)
            assert changed is not None
            public = _public(
                changed, _trials_of(conn, [changed.id]).get(changed.id, [])
            )
            change = AuditChange(
                "schedule.update",
                "schedule",
                str(schedule_id),
                dict(row._mapping),
                dict(changed._mapping),
            )
            audit_changes(conn, now, [change])
            return public

    @staticmethod
    def _select_one(
        conn: Connection,
        experiment_id: uuid.UUID,
        schedule_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> sa.Row[Any] | None:
        # Deleted ones too: by id, Kallisti reads and edits them (they never fire).
        query = (
            sa.select(*_COLUMNS)
            .select_from(_WITH_EXPERIMENT)
            .where(schedules.c.id == str(schedule_id))
            .where(schedules.c.experiment_id == str(experiment_id))
        )
        if for_update and conn.dialect.name == "postgresql":
            # Serialise with a worker claiming this schedule's tick.
            query = query.with_for_update(of=schedules)
        return conn.execute(query).first()

    # --- the worker's queries -------------------------------------------------

    def due(self, now: datetime, limit: int) -> builtins.list[DueTick]:
        """Return up to `limit` live schedules whose next tick is at or before
        `now`, the most overdue first."""
        query = (
            sa.select(
                schedules.c.id,
                schedules.c.next_fire_at,
                schedules.c.recurrence_pattern,
                schedules.c.timezone,
            )
            .select_from(_WITH_EXPERIMENT)
            .where(_LIVE)
            .where(schedules.c.next_fire_at <= now)
            .order_by(schedules.c.next_fire_at, schedules.c.id)
            .limit(limit)
        )
        with self._read_one_statement() as conn:
            return [
                DueTick(row.id, row.next_fire_at, row.recurrence_pattern, row.timezone)
                for row in conn.execute(query)
            ]

    @staticmethod
    def claim_tick(
        conn: Connection, tick: DueTick, next_at: datetime | None, now: datetime
    ) -> sa.Row[Any] | None:
        """Claim `tick` for this worker, inside the caller's transaction.

        Moves `next_fire_at` to `next_at` (or to null when this was the last
        recurrence) and counts `recurrence_left` down, only if the schedule still
        waits for the tick this worker saw. Returns the schedule as claimed (with
        `experiment_metadata`), or None when another worker fired this tick, or
        the schedule was changed, spent or deleted meanwhile.
        """
        left = schedules.c.recurrence_left
        claimed = conn.execute(
            schedules.update()
            .where(schedules.c.id == tick.schedule_id)
            .where(schedules.c.next_fire_at == tick.next_fire_at)
            .where(schedules.c.deleted_at.is_(None))
            .where(left.is_(None) | (left > 0))
            .values(
                next_fire_at=sa.case(
                    (left.is_not(None) & (left <= 1), sa.null()), else_=next_at
                ),
                recurrence_left=sa.case((left.is_(None), sa.null()), else_=left - 1),
                last_fired_at=now,
            )
            .returning(schedules.c.id)
        ).first()
        if claimed is None:
            return None
        return conn.execute(
            sa.select(*_COLUMNS)
            .select_from(_WITH_EXPERIMENT)
            .where(schedules.c.id == tick.schedule_id)
        ).first()

    @staticmethod
    def skip_tick(
        conn: Connection,
        tick: DueTick,
        next_at: datetime | None,
        *,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move a schedule past `tick` without a trial (the countdown stays), only
        if it still waits for that tick, noting when and why; tell whether it
        did."""
        noted = (
            {} if now is None else {"last_skipped_at": now, "last_skip_reason": reason}
        )
        result = conn.execute(
            schedules.update()
            .where(schedules.c.id == tick.schedule_id)
            .where(schedules.c.next_fire_at == tick.next_fire_at)
            .where(schedules.c.deleted_at.is_(None))
            .values(next_fire_at=next_at, **noted)
        )
        return result.rowcount == 1

    def retire(self, schedule_id: str, now: datetime) -> None:
        """Soft-delete a schedule whose experiment has gone (it can never fire)."""
        with self._write() as conn:
            conn.execute(
                schedules.update()
                .where(schedules.c.id == schedule_id)
                .where(schedules.c.deleted_at.is_(None))
                .values(deleted_at=now, next_fire_at=None)
            )


def _require_live_experiment(conn: Connection, experiment_id: uuid.UUID) -> None:
    live = conn.execute(
        sa.select(experiments.c.id).where(
            (experiments.c.id == str(experiment_id))
            & experiments.c.deleted_at.is_(None)
        )
    ).first()
    if live is None:
        raise NotFound("Experiment", experiment_id)


def _trials_of(
    conn: Connection, schedule_ids: Sequence[str]
) -> dict[str, list[ScheduleTrial]]:
    if not schedule_ids:
        return {}
    rows = conn.execute(
        sa.select(
            trials.c.schedule_id, trials.c.id, trials.c.status, trials.c.executed_at
        )
        .where(trials.c.schedule_id.in_(schedule_ids))
        .order_by(trials.c.created_at, trials.c.id)
    )
    found: dict[str, list[ScheduleTrial]] = {}
    for row in rows:
        found.setdefault(row.schedule_id, []).append(
            ScheduleTrial(id=row.id, status=row.status, executed_at=row.executed_at)
        )
    return found


def _shown_metadata(row: Any) -> dict[str, Any]:
    # As Kallisti shows it: the experiment's metadata with the schedule's keys
    # laid over it. Only the schedule's own keys are stored, so a trial started
    # later gets the experiment's metadata as it is then.
    return {**(row.experiment_metadata or {}), **row.metadata}


def _public(
    row: sa.Row[Any], schedule_trials: Iterable[ScheduleTrial]
) -> SchedulePublic:
    data = row._asdict()
    data["metadata"] = _shown_metadata(row)
    data["trials"] = list(schedule_trials)
    return SchedulePublic.model_validate(data)
