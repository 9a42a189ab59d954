"""The queries behind reports: experiments with their trials, filtered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kallisti.domain.errors import NotFound
from kallisti.domain.models import TrialStatus
from kallisti.store.scoping import LabelScope, experiment_in_scope
from kallisti.store.tables import experiments, trials

__all__ = ["ReportFilter", "ReportRows", "fetch_report_rows"]


@dataclass(frozen=True)
class ReportFilter:
    """Which experiments and trials a report covers.

    `trial_id` narrows the report to one trial and its experiment (also a
    deleted one, as in Kallisti). Otherwise the report covers live experiments,
    or only `experiment_id`; `status` and the creation-time bounds filter their
    trials, and when one of them is given, experiments with no matching trial
    are left out.
    """

    trial_id: uuid.UUID | None = None
    experiment_id: uuid.UUID | None = None
    status: TrialStatus | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    scope: LabelScope | None = None
    """Only experiments in this scope, and their trials (None: all)."""

    @property
    def filters_trials(self) -> bool:
        return (
            self.status is not None
            or self.created_after is not None
            or self.created_before is not None
        )


@dataclass
class ReportRows:
    """One experiment row and its trial rows, oldest first."""

    experiment: dict[str, Any]
    trials: list[dict[str, Any]] = field(default_factory=list)


_EXPERIMENT_COLUMNS = (
    experiments.c.id,
    experiments.c.name,
    experiments.c.description,
    experiments.c.metadata,
    experiments.c.parameters,
    experiments.c.pre_steps,
    experiments.c.steps,
    experiments.c.post_steps,
    experiments.c.created_at,
)
_TRIAL_COLUMNS = (
    trials.c.id,
    trials.c.experiment_id,
    trials.c.experiment_snapshot,
    trials.c.parameters,
    trials.c.metadata,
    trials.c.ticket,
    trials.c.status,
    trials.c.trial_record,
    trials.c.initiated_by,
    trials.c.initiated_from,
    trials.c.schedule_id,
    trials.c.dry_run,
    trials.c.created_at,
    trials.c.executed_at,
    trials.c.completed_at,
)


def fetch_report_rows(engine: Engine, where: ReportFilter) -> list[ReportRows]:
    """Read what a report covers, experiments oldest first.

    Raises `NotFound` for an unknown `trial_id`, or an unknown or deleted
    `experiment_id`.
    """
    with engine.connect() as conn:
        if where.trial_id is not None:
            trial = conn.execute(
                sa.select(*_TRIAL_COLUMNS).where(trials.c.id == str(where.trial_id))
            ).first()
            if trial is None:
                raise NotFound("Trial", where.trial_id)
            experiment = conn.execute(
                sa.select(*_EXPERIMENT_COLUMNS).where(
                    experiments.c.id == trial.experiment_id
                )
            ).one()
            if where.scope is not None and not where.scope.admits(
                experiment._mapping["metadata"]
            ):
                raise NotFound("Trial", where.trial_id)
            return [ReportRows(experiment._asdict(), [trial._asdict()])]

        live: sa.ColumnElement[bool] = experiments.c.deleted_at.is_(None)
        if where.scope is not None:
            live = live & experiment_in_scope(conn.dialect.name, where.scope)
        query = sa.select(*_EXPERIMENT_COLUMNS).where(live)
        if where.experiment_id is not None:
            query = query.where(experiments.c.id == str(where.experiment_id))
        rows = conn.execute(
            query.order_by(experiments.c.created_at, experiments.c.id)
        ).all()
        if where.experiment_id is not None and not rows:
            raise NotFound("Experiment", where.experiment_id)
        report = {row.id: ReportRows(row._asdict()) for row in rows}
        if not report:
            return []

        covered = sa.select(experiments.c.id).where(live)
        if where.experiment_id is not None:
            covered = covered.where(experiments.c.id == str(where.experiment_id))
        trial_query = sa.select(*_TRIAL_COLUMNS).where(
            trials.c.experiment_id.in_(covered.scalar_subquery())
        )
        if where.status is not None:
            trial_query = trial_query.where(trials.c.status == where.status.value)
        if where.created_after is not None:
            trial_query = trial_query.where(trials.c.created_at >= where.created_after)
        if where.created_before is not None:
            trial_query = trial_query.where(trials.c.created_at < where.created_before)
        for trial in conn.execute(
            trial_query.order_by(trials.c.created_at, trials.c.id)
        ):
            entry = report.get(trial.experiment_id)
            if entry is not None:  # an experiment created since the first read
                entry.trials.append(trial._asdict())
    selected = list(report.values())
    if where.filters_trials:
        selected = [entry for entry in selected if entry.trials]
    return selected
