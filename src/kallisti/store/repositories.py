"""Reading and writing experiments and trials. Every acknowledged write is committed
before the method returns."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from kallisti.domain.errors import InvalidInput, NotFound, TrialNotStoppable
from kallisti.domain.models import (
    ExperimentCreate,
    ExperimentPublic,
    ExperimentUpdate,
    TrialCreate,
    TrialPublic,
    TrialStatus,
    stored_experiment,
)
from kallisti.domain.record import SECTIONS, Clock, TrialRecord, utc_now
from kallisti.domain.safety import StopCause
from kallisti.domain.secret_parameters import mask_parameters, secret_parameter_names
from kallisti.domain.secrets import restore_masked
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.base import Repository, collection_paused
from kallisti.store.db import DriverStatement
from kallisti.store.scoping import LabelScope, experiment_in_scope
from kallisti.store.tables import UTCDateTime, experiments, trials
from kallisti.store.wakeups import STOP_REQUESTED, TRIAL_CREATED, notify

__all__ = ["ExperimentRepository", "Page", "TrialFilter", "TrialRepository"]

# Fields whose secret-named values the API masks; a mask sent back keeps the
# stored value.
_MASKED_FIELDS = ("parameters", "metadata", *SECTIONS)


@dataclass(frozen=True)
class Page:
    """Which slice of a list to return; `limit=None` returns everything."""

    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class TrialFilter:
    experiment_id: uuid.UUID | None = None
    status: TrialStatus | None = None
    schedule_id: uuid.UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_deleted_experiments: bool = False
    scope: LabelScope | None = None
    """Only trials whose experiment is in this scope (None: all)."""


def _steps_json(
    model: ExperimentCreate | ExperimentUpdate | TrialCreate, field: str
) -> Any:
    steps = getattr(model, field)
    return None if steps is None else [s.model_dump() for s in steps]


def _safety_values(data: ExperimentCreate) -> dict[str, Any]:
    return {
        "guards": _steps_json(data, "guards"),
        "max_duration_seconds": data.max_duration_seconds,
        "max_concurrent_trials": data.max_concurrent_trials,
    }


def _experiment(row: sa.RowMapping | Mapping[str, Any]) -> ExperimentPublic:
    return stored_experiment(dict(row))


SoftDeleteHook = Callable[[Connection, uuid.UUID, datetime], None]


# Built once, with the row as parameters: building `insert().values(row)` on
# every create cost more than the insert itself. The columns each create gives:
_INSERT_EXPERIMENT = experiments.insert()
_EXPERIMENT_INSERT_COLUMNS = (
    "id",
    "name",
    "description",
    "metadata",
    "parameters",
    *SECTIONS,
    "guards",
    "max_duration_seconds",
    "max_concurrent_trials",
    "created_by",
    "created_at",
    "updated_at",
)
_STEPS = (*SECTIONS, "guards")
_INSERT_TRIAL = trials.insert()
_TRIAL_INSERT_COLUMNS = (
    "id",
    "experiment_id",
    "experiment_snapshot",
    "parameters",
    "metadata",
    "ticket",
    "status",
    "trial_record",
    "initiated_by",
    "initiated_from",
    "schedule_id",
    "dry_run",
    "guards",
    "max_duration_seconds",
    "created_at",
    "secret_parameters",
)


class ExperimentRepository(Repository):
    """Experiments; deleted ones are invisible here but stay in their trials."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        super().__init__(engine, clock)
        self._insert = DriverStatement(
            _INSERT_EXPERIMENT, engine.dialect, columns=_EXPERIMENT_INSERT_COLUMNS
        )
        self.on_soft_delete: list[SoftDeleteHook] = []
        """Run in the delete's transaction (schedules go with their experiment)."""

    def create(
        self,
        data: ExperimentCreate,
        created_by: str,
        conn: Connection | None = None,
    ) -> ExperimentPublic:
        """Store a new experiment, in `conn`'s transaction when given."""
        if conn is None:
            with self._write() as own:
                return self.create(data, created_by, own)
        now = self._clock()
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": data.name,
            "description": data.description or "",
            "metadata": data.metadata,
            "parameters": data.parameters,
            **{section: _steps_json(data, section) for section in SECTIONS},
            **_safety_values(data),
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        }
        change = AuditChange(
            "experiment.create", "experiment", values["id"], None, values
        )
        self._insert.run(conn, **values)
        audit_changes(conn, now, [change], actor=created_by)
        # The steps as validated already: models are not validated again.
        return ExperimentPublic.model_validate(
            {**values, **{section: getattr(data, section) for section in _STEPS}}
        )

    def get(
        self, experiment_id: uuid.UUID, scope: LabelScope | None = None
    ) -> ExperimentPublic:
        """Return an experiment, also a deleted one (as Kallisti: by id, deleted
        experiments stay readable); raises `NotFound`, also when it is out of
        `scope`."""
        with self._read_one_statement() as conn:
            row = conn.execute(*_by_id(experiment_id)).mappings().first()
        if row is None or (scope is not None and not scope.admits(row["metadata"])):
            raise NotFound("Experiment", experiment_id)
        return _experiment(row)

    def check_in_scope(
        self, experiment_id: uuid.UUID, scope: LabelScope | None
    ) -> None:
        """Raise `NotFound` when the experiment exists but is out of `scope`
        (an unknown one is left to the caller's own query). No query without
        a scope."""
        if scope is None:
            return
        with self._read() as conn:
            row = conn.execute(*_by_id(experiment_id)).mappings().first()
        if row is not None and not scope.admits(row["metadata"]):
            raise NotFound("Experiment", experiment_id)

    def list(
        self, page: Page = Page(), scope: LabelScope | None = None
    ) -> tuple[list[ExperimentPublic], int]:
        """Return one page of live experiments (in `scope`, if given), oldest
        first, and their total."""
        live: sa.ColumnElement[bool] = experiments.c.deleted_at.is_(None)
        if scope is not None:
            live = live & experiment_in_scope(self._engine.dialect.name, scope)
        query = (
            sa.select(experiments)
            .where(live)
            .order_by(experiments.c.created_at, experiments.c.id)
            .offset(page.offset)
            .limit(page.limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
            total = conn.execute(
                sa.select(sa.func.count()).select_from(experiments).where(live)
            ).scalar_one()
        return [_experiment(row) for row in rows], total

    def replace(
        self,
        experiment_id: uuid.UUID,
        data: ExperimentCreate,
        scope: LabelScope | None = None,
    ) -> ExperimentPublic:
        values: dict[str, Any] = {
            "name": data.name,
            "description": data.description or "",
            "metadata": data.metadata,
            "parameters": data.parameters,
            **{section: _steps_json(data, section) for section in SECTIONS},
            **_safety_values(data),
        }
        # As Kallisti's PUT: a field the body leaves out keeps its stored value
        # (`name` and `steps` must be given).
        changes = {k: v for k, v in values.items() if k in data.model_fields_set}
        return self._change(experiment_id, changes, "experiment.replace", scope)

    def update(
        self,
        experiment_id: uuid.UUID,
        data: ExperimentUpdate,
        scope: LabelScope | None = None,
    ) -> ExperimentPublic:
        changes = {
            field: (
                _steps_json(data, field)
                if field in (*SECTIONS, "guards")
                else getattr(data, field)
            )
            for field in data.model_fields_set
        }
        return self._change(experiment_id, changes, "experiment.update", scope)

    def _change(
        self,
        experiment_id: uuid.UUID,
        changes: Mapping[str, Any],
        action: str,
        scope: LabelScope | None,
    ) -> ExperimentPublic:
        """Apply `changes`; raises `NotFound` also when the experiment as stored
        is out of `scope` (checked in the writing transaction). Whether the
        new labels are in scope is the caller's check."""
        with self._write() as conn:
            # By id, Kallisti edits deleted experiments too (they stay deleted).
            current = conn.execute(*_by_id(experiment_id)).mappings().first()
            if current is None or (
                scope is not None and not scope.admits(current["metadata"])
            ):
                raise NotFound("Experiment", experiment_id)
            values = {
                field: (
                    restore_masked(value, current[field])
                    if field in _MASKED_FIELDS
                    else value
                )
                for field, value in changes.items()
            }
            result = (
                conn.execute(
                    experiments.update()
                    .where(experiments.c.id == str(experiment_id))
                    .values(**values, updated_at=self._clock())
                    .returning(*experiments.c)
                )
                .mappings()
                .one()
            )
            change = AuditChange(
                action, "experiment", str(experiment_id), dict(current), dict(result)
            )
            audit_changes(conn, self._clock(), [change])
        return _experiment(result)

    def soft_delete(
        self, experiment_id: uuid.UUID, scope: LabelScope | None = None
    ) -> None:
        """Hide the experiment from lists; it and its trials stay readable by
        id. Deleting it again changes nothing. Raises `NotFound`, also when it
        is out of `scope`."""
        with self._write() as conn:
            current = conn.execute(*_by_id(experiment_id)).mappings().first()
            if current is None or (
                scope is not None and not scope.admits(current["metadata"])
            ):
                raise NotFound("Experiment", experiment_id)
            deleted = conn.execute(
                experiments.update()
                .where(experiments.c.id == str(experiment_id))
                .where(experiments.c.deleted_at.is_(None))
                .values(deleted_at=self._clock())
            ).rowcount
            if not deleted:
                return
            for hook in self.on_soft_delete:
                hook(conn, experiment_id, self._clock())
            change = AuditChange("experiment.delete", "experiment", str(experiment_id))
            audit_changes(conn, self._clock(), [change])


# Hot statements are built once: SQLAlchemy then reuses their compiled form
# without recomputing a cache key on every call.
_LIVE_EXPERIMENT = sa.select(experiments).where(
    (experiments.c.id == sa.bindparam("experiment_id"))
    & experiments.c.deleted_at.is_(None)
)


_EXPERIMENT_BY_ID = sa.select(experiments).where(
    experiments.c.id == sa.bindparam("experiment_id")
)


def _by_id(experiment_id: uuid.UUID) -> tuple[sa.Select[Any], dict[str, str]]:
    return _EXPERIMENT_BY_ID, {"experiment_id": str(experiment_id)}


_TRIAL_COLUMNS = (
    trials.c.id,
    trials.c.experiment_id.label("experiment"),
    trials.c.parameters,
    trials.c.metadata,
    trials.c.ticket,
    trials.c.status,
    trials.c.trial_record,
    trials.c.initiated_by,
    trials.c.initiated_from,
    trials.c.dry_run,
    trials.c.schedule_id,
    trials.c.created_at,
    trials.c.executed_at,
    trials.c.completed_at,
    trials.c.guards,
    trials.c.max_duration_seconds,
    trials.c.stop_cause.label("stop_reason"),
    trials.c.waiting_for,
    trials.c.residual_faults,
    trials.c.secret_parameters,
)


def _trial(row: Mapping[str, Any] | sa.RowMapping) -> TrialPublic:
    """The trial as readers see it: parameters templated into a secret's place
    are masked (the worker reads the row itself)."""
    data = dict(row)
    secret = data.pop("secret_parameters", None) or []
    if secret:
        data["parameters"] = mask_parameters(data["parameters"], secret)
    return TrialPublic.model_validate(data)


# A list of thousands of trials is read without SQLAlchemy's per-value result
# processing: JSON and times come as the driver gives them (text on SQLite,
# objects on PostgreSQL) and `_plain_trial` finishes them. The columns are in
# `TrialPublic`'s field order, then the secret parameters' names.
_PLAIN_FIELDS = tuple(TrialPublic.model_fields)


def _plain_column(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if isinstance(column.type, sa.JSON | UTCDateTime):
        return sa.type_coerce(column, sa.Text).label(column.name)
    return column


_PLAIN_COLUMNS = tuple(
    _plain_column(next(c for c in _TRIAL_COLUMNS if c.name == name))
    for name in (*_PLAIN_FIELDS, "secret_parameters")
)
_SECRET_AT = len(_PLAIN_FIELDS)


def _positions(*names: str) -> tuple[int, ...]:
    return tuple(_PLAIN_FIELDS.index(name) for name in names)


_UUIDS_AT = _positions("id", "experiment", "schedule_id")
# Parsed: the API masks what lies under secret-naming keys in them.
_MASKED_JSON_AT = _positions("parameters", "metadata", "ticket")
# Never masked (a record is redacted as it is written): an answer can hold
# the stored JSON text itself.
_DOCUMENTS_AT = _positions("trial_record", "guards", "residual_faults")
_TIMES_AT = _positions("created_at", "executed_at", "completed_at")
_DRY_RUN_AT, _PARAMETERS_AT = _positions("dry_run", "parameters")


def _json_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    # Most trials' parameters, metadata and ticket are empty.
    return {} if value == "{}" else orjson.loads(value)


def _json_document(value: Any) -> Any:
    """A stored JSON value as an answer holds it: SQLite's text as it is
    (orjson writes it out unparsed); PostgreSQL's driver has parsed it."""
    return orjson.Fragment(value) if isinstance(value, str) else value


def _time_value(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps naive UTC text
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    moment: datetime = value
    return (
        moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    )


def _time_text(value: Any) -> str | None:
    """A stored time as the API writes it (`2026-11-30T01:56:39.009178Z`, no
    fraction for a whole second), as the models write a UTC time."""
    if (
        isinstance(value, str)
        and len(value) == 26
        and value[10] == " "
        and value[19] == "."
    ):  # SQLite's own form, `2026-11-30 01:56:39.009178`
        whole = value.endswith(".000000")
        return f"{value[:10]}T{value[11:19] if whole else value[11:]}Z"
    moment = _time_value(value)
    return None if moment is None else f"{moment.replace(tzinfo=None).isoformat()}Z"


def _canonical_uuid(value: str | None) -> str | None:
    """`value` as `UUID` validation would write it back (the stored form, fast)."""
    if value is None or (len(value) == 36 and value == value.lower()):
        return value
    return str(uuid.UUID(value))


_LIST_ORDER = (trials.c.created_at, trials.c.id)


class _DefaultList(NamedTuple):
    """The statements of the unfiltered list."""

    every: sa.Select[Any]
    """All trials of live experiments."""
    page: sa.Select[Any]
    """A page of those (`:offset`, `:limit`)."""
    page_of_every_trial: sa.Select[Any]
    """A page of all trials: the same page while no trial's experiment is
    deleted, found without testing each skipped trial's experiment (offset
    5,000 on SQLite: 0.17 ms to pick the ids against 0.8)."""
    counts: sa.Select[Any]
    """All trials, and those of deleted experiments (`trials`, `of_deleted`)."""


def _default_list() -> _DefaultList:
    conditions = _trial_conditions(TrialFilter(), "")
    every = sa.select(*_PLAIN_COLUMNS).where(*conditions).order_by(*_LIST_ORDER)
    # The database counts a whole table without reading its rows, and the few
    # deleted experiments' trials by index, where testing every trial's
    # experiment reads them all.
    deleted = sa.select(experiments.c.id).where(experiments.c.deleted_at.is_not(None))
    counts = sa.select(
        sa.select(sa.func.count())
        .select_from(trials)
        .scalar_subquery()
        .label("trials"),
        sa.select(sa.func.count())
        .select_from(trials)
        .where(trials.c.experiment_id.in_(deleted))
        .scalar_subquery()
        .label("of_deleted"),
    )
    return _DefaultList(every, _page_of(conditions), _page_of([]), counts)


def _page_of(conditions: Sequence[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """A page (`:offset`, `:limit`) of the trials that meet `conditions`.

    Its trials are picked by the (created_at, id, experiment_id) index alone,
    then read by id: cheaper than stepping over the skipped trials with whole
    rows selected (offset 5,000 on SQLite: about 1.0 ms against 1.5)."""
    picked = (
        sa.select(trials.c.id)
        .where(*conditions)
        .order_by(*_LIST_ORDER)
        .offset(sa.bindparam("offset"))
        .limit(sa.bindparam("limit"))
    )
    return (
        sa.select(*_PLAIN_COLUMNS)
        .where(trials.c.id.in_(picked.scalar_subquery()))
        .order_by(*_LIST_ORDER)
    )


PlainTrials = list[dict[str, Any]]
"""Trials as `TrialRepository.list_plain` gives them."""


def _plain_trial(row: Sequence[Any], *, answer: bool = True) -> dict[str, Any]:
    """`_trial` of a `_PLAIN_COLUMNS` row as a plain dict of the same fields, in
    the same order, with values that orjson writes as the API answers; no model.

    Its times are then text, and its record, guards and residual faults the
    stored JSON itself: a list of 10,000 trials parses and writes none of
    their records. Without `answer`, every value is the model's own (parsed
    JSON, aware times)."""
    values = list(row)
    for at in _UUIDS_AT:
        values[at] = _canonical_uuid(values[at])
    for at in _MASKED_JSON_AT:
        values[at] = _json_value(values[at])
    read_document, read_time = (
        (_json_document, _time_text) if answer else (_json_value, _time_value)
    )
    for at in _DOCUMENTS_AT:
        values[at] = read_document(values[at])
    for at in _TIMES_AT:
        values[at] = read_time(values[at])
    values[_DRY_RUN_AT] = bool(values[_DRY_RUN_AT])
    secret = _json_value(values[_SECRET_AT])
    if secret:
        values[_PARAMETERS_AT] = mask_parameters(values[_PARAMETERS_AT], secret)
    return dict(zip(_PLAIN_FIELDS, values, strict=False))  # secret left out


class TrialRepository(Repository):
    """Trials: created here, run by workers, never deleted or edited afterwards."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        super().__init__(engine, clock)
        self.before_create: list[Callable[[Connection], None]] = []
        """Run in the creating transaction; may refuse (the halt switch)."""
        self._by_id = DriverStatement(_PLAIN_BY_ID, engine.dialect)
        self._every = DriverStatement(_DEFAULT_LIST.every, engine.dialect)
        self._page = DriverStatement(_DEFAULT_LIST.page, engine.dialect)
        self._page_of_every_trial = DriverStatement(
            _DEFAULT_LIST.page_of_every_trial, engine.dialect
        )
        self._counts = DriverStatement(_DEFAULT_LIST.counts, engine.dialect)
        self._insert = DriverStatement(
            _INSERT_TRIAL, engine.dialect, columns=_TRIAL_INSERT_COLUMNS
        )
        self._live = DriverStatement(_LIVE_EXPERIMENT, engine.dialect)

    def create(
        self,
        request: TrialCreate,
        *,
        initiated_by: str,
        initiated_from: str,
        schedule_id: uuid.UUID | None = None,
        conn: Connection | None = None,
        scope: LabelScope | None = None,
    ) -> TrialPublic:
        """Record a trial as `Scheduled`; that row is the queue entry.

        Raises `InvalidInput` on `experiment` when it is unknown, deleted or out
        of `scope` (the same answer: an out-of-scope experiment is not revealed).
        """
        if conn is None:
            with self._write() as own:
                return self.create(
                    request,
                    initiated_by=initiated_by,
                    initiated_from=initiated_from,
                    schedule_id=schedule_id,
                    conn=own,
                    scope=scope,
                )
        for check in self.before_create:
            check(conn)
        found = self._live.mappings(conn, experiment_id=str(request.experiment))
        row = found[0] if found else None
        if row is not None and scope is not None and not scope.admits(row["metadata"]):
            row = None
        if row is None:
            raise InvalidInput(
                "experiment",
                f"experiment {request.experiment} does not exist or has been deleted",
            )
        experiment = _experiment(row)
        trial_id, now = str(uuid.uuid4()), self._clock()
        values = {
            "id": trial_id,
            "experiment_id": str(experiment.id),
            "experiment_snapshot": experiment.model_dump(mode="json"),
            "parameters": request.parameters,
            "metadata": {**experiment.metadata, **request.metadata},
            "ticket": request.ticket,
            "status": TrialStatus.SCHEDULED.value,
            "trial_record": {},
            "initiated_by": initiated_by,
            "initiated_from": initiated_from,
            "schedule_id": None if schedule_id is None else str(schedule_id),
            "dry_run": request.dry_run,
            "guards": _steps_json(request, "guards"),
            "max_duration_seconds": request.max_duration_seconds,
            "created_at": now,
            "secret_parameters": sorted(
                secret_parameter_names(
                    {**experiment.parameters, **request.parameters},
                    [
                        step.where
                        for section in SECTIONS
                        for step in getattr(experiment, section)
                    ],
                )
            ),
        }
        self._insert.run(conn, **values)
        created = _status_change(trial_id, None, TrialStatus.SCHEDULED.value)
        audit_changes(conn, now, [created], actor=initiated_by)
        notify(conn, TRIAL_CREATED)
        return _trial(
            {
                **values,
                "experiment": values["experiment_id"],
                "executed_at": None,
                "completed_at": None,
            }
        )

    def get(self, trial_id: uuid.UUID, scope: LabelScope | None = None) -> TrialPublic:
        """Return a trial, also one of a deleted experiment; raises `NotFound`,
        also when its experiment is out of `scope`."""
        row = self._plain_row(trial_id, scope)
        return TrialPublic.model_validate(_plain_trial(row, answer=False))

    def get_plain(
        self, trial_id: uuid.UUID, scope: LabelScope | None = None
    ) -> dict[str, Any]:
        """`get`, the trial a plain dict as `list_plain` gives each one."""
        return _plain_trial(self._plain_row(trial_id, scope))

    def _plain_row(
        self, trial_id: uuid.UUID, scope: LabelScope | None
    ) -> Sequence[Any]:
        if scope is None:
            row = self._by_id.read_one(self._engine, trial_id=str(trial_id))
        else:
            with self._read_one_statement() as conn:
                row = conn.execute(
                    _scoped_plain_trial(conn.dialect.name, scope),
                    {"trial_id": str(trial_id)},
                ).first()
        if row is None:
            raise NotFound("Trial", trial_id)
        return row

    def list(
        self, where: TrialFilter = TrialFilter(), page: Page = Page()
    ) -> tuple[list[TrialPublic], int]:
        """Return one page of trials, oldest first, and the total that match."""
        conditions = _trial_conditions(where, self._engine.dialect.name)
        query = (
            sa.select(*_TRIAL_COLUMNS)
            .where(*conditions)
            .order_by(trials.c.created_at, trials.c.id)
            .offset(page.offset)
            .limit(page.limit)
        )
        with self._read() as conn:
            result = conn.execute(query)
            keys = list(result.keys())
            rows = [dict(zip(keys, row, strict=True)) for row in result]
            if page.limit is None and page.offset == 0:
                total = len(rows)
            else:
                total = conn.execute(
                    sa.select(sa.func.count()).select_from(trials).where(*conditions)
                ).scalar_one()
        return [_trial(row) for row in rows], total

    def list_plain(
        self, where: TrialFilter = TrialFilter(), page: Page = Page()
    ) -> tuple[PlainTrials, int]:
        """`list`, each trial a plain dict with `TrialPublic`'s fields in its
        order (parameters templated into a secret's place masked): a list of
        10,000 is then written as JSON in one call instead of a model per row."""
        whole = page.limit is None and page.offset == 0
        with self._read() as conn, collection_paused():
            # The common lists are compiled once and read with the driver.
            if where == TrialFilter() and whole:
                rows = [_plain_trial(row) for row in self._every.rows(conn)]
                return rows, len(rows)
            every, of_deleted = cast(tuple[int, int], self._counts.run(conn))
            if not of_deleted:
                # No trial's experiment is deleted: the same trials, found
                # without testing each one's experiment (a page, or the count
                # of a status, then reads an index alone).
                where = replace(where, include_deleted_experiments=True)
            if where == TrialFilter() and page.limit is not None:
                found = self._page.rows(conn, offset=page.offset, limit=page.limit)
                return [_plain_trial(row) for row in found], every - of_deleted
            if where == _EVERY_TRIAL and page.limit is not None:
                found = self._page_of_every_trial.rows(
                    conn, offset=page.offset, limit=page.limit
                )
                return [_plain_trial(row) for row in found], every
            conditions = _trial_conditions(where, self._engine.dialect.name)
            query = (
                sa.select(*_PLAIN_COLUMNS)
                .where(*conditions)
                .order_by(*_LIST_ORDER)
                .offset(page.offset)
                .limit(page.limit)
            )
            count = sa.select(sa.func.count()).select_from(trials).where(*conditions)
            rows = [_plain_trial(row) for row in conn.execute(query)]
            total = len(rows) if whole else conn.execute(count).scalar_one()
        return rows, total

    def request_stop(
        self,
        trial_id: uuid.UUID,
        requested_by: str,
        scope: LabelScope | None = None,
    ) -> TrialPublic:
        """Ask a trial to stop.

        A `Scheduled` trial ends `Stopped` at once (nothing ran, nothing to undo);
        an `In Progress` one turns `Stop Initiated` and its worker stops it.
        Raises `NotFound` (also when its experiment is out of `scope`), or
        `TrialNotStoppable` when it has already ended.
        """
        reason = f"stop requested by {requested_by}"
        now = self._clock()
        record = TrialRecord(clock=lambda: now)
        record.result(
            f"Trial Stopped before it started: {reason}. Nothing ran.", "ERROR"
        )
        with self._write() as conn:
            if scope is not None:
                visible = conn.execute(
                    _scoped_trial(conn.dialect.name, scope),
                    {"trial_id": str(trial_id)},
                ).first()
                if visible is None:
                    raise NotFound("Trial", trial_id)
            by_id = trials.c.id == str(trial_id)
            stopped = conn.execute(
                trials.update()
                .where(by_id & (trials.c.status == TrialStatus.SCHEDULED.value))
                .values(
                    status=TrialStatus.STOPPED.value,
                    stop_reason=reason,
                    stop_cause=StopCause.USER.value,
                    trial_record=record.to_json(),
                    completed_at=now,
                )
            ).rowcount
            initiated = 0
            if not stopped:
                initiated = conn.execute(
                    trials.update()
                    .where(by_id & (trials.c.status == TrialStatus.IN_PROGRESS.value))
                    .values(
                        status=TrialStatus.STOP_INITIATED.value,
                        stop_reason=reason,
                        stop_cause=StopCause.USER.value,
                    )
                ).rowcount
                notify(conn, STOP_REQUESTED)
            row = (
                conn.execute(sa.select(*_TRIAL_COLUMNS).where(by_id)).mappings().first()
            )
            if stopped or initiated:
                old, new = (
                    (TrialStatus.SCHEDULED, TrialStatus.STOPPED)
                    if stopped
                    else (TrialStatus.IN_PROGRESS, TrialStatus.STOP_INITIATED)
                )
                change = _status_change(str(trial_id), old.value, new.value)
                audit_changes(conn, now, [change], actor=requested_by)
        if row is None:
            raise NotFound("Trial", trial_id)
        trial = _trial(row)
        if trial.status not in (TrialStatus.STOP_INITIATED, TrialStatus.STOPPED) or (
            trial.status is TrialStatus.STOPPED and not stopped
        ):
            raise TrialNotStoppable(trial.status.value)
        return trial


def _status_change(trial_id: str, old: str | None, new: str) -> AuditChange:
    """The audit entry of a trial's status change (`old` None: just created)."""
    detail = {"to": new} if old is None else {"from": old, "to": new}
    return AuditChange("trial.status", "trial", trial_id, detail=detail)


def _scoped_plain_trial(dialect: str, scope: LabelScope) -> sa.Select[Any]:
    """`_PLAIN_BY_ID`, if the trial's experiment is in `scope`."""
    return _PLAIN_BY_ID.where(
        trials.c.experiment_id.in_(_experiments_in_scope(dialect, scope))
    )


def _scoped_trial(dialect: str, scope: LabelScope) -> sa.Select[Any]:
    """A trial by id (`:trial_id`) whose experiment is in `scope`."""
    return sa.select(*_TRIAL_COLUMNS).where(
        (trials.c.id == sa.bindparam("trial_id"))
        & trials.c.experiment_id.in_(_experiments_in_scope(dialect, scope))
    )


def _experiments_in_scope(dialect: str, scope: LabelScope) -> sa.Select[Any]:
    # A select naming its table: an empty scope's condition is a bare `false`.
    return sa.select(experiments.c.id).where(experiment_in_scope(dialect, scope))


def _trial_conditions(where: TrialFilter, dialect: str) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if where.scope is not None:
        # The experiment row decides, never the trial's own metadata.
        conditions.append(
            trials.c.experiment_id.in_(_experiments_in_scope(dialect, where.scope))
        )
    if where.experiment_id is not None:
        conditions.append(trials.c.experiment_id == str(where.experiment_id))
    if where.status is not None:
        conditions.append(trials.c.status == where.status.value)
    if where.schedule_id is not None:
        conditions.append(trials.c.schedule_id == str(where.schedule_id))
    if where.created_after is not None:
        conditions.append(trials.c.created_at >= where.created_after)
    if where.created_before is not None:
        conditions.append(trials.c.created_at < where.created_before)
    if not where.include_deleted_experiments:
        # As in Kallisti, lists leave out the trials of deleted experiments;
        # each stays readable by id. Every trial's experiment exists (foreign
        # key), so "not of a deleted one" is "of a live one": the few deleted
        # ids are looked up once instead of an experiment per trial, and paging
        # walks the (created_at, id, experiment_id) index alone.
        conditions.append(
            trials.c.experiment_id.not_in(
                sa.select(experiments.c.id).where(experiments.c.deleted_at.is_not(None))
            )
        )
    return conditions


_DEFAULT_LIST = _default_list()
_EVERY_TRIAL = TrialFilter(include_deleted_experiments=True)
_PLAIN_BY_ID = sa.select(*_PLAIN_COLUMNS).where(trials.c.id == sa.bindparam("trial_id"))
