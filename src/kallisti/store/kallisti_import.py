"""Bringing a Kallisti 1.x database over: experiments, schedules, notification
settings and every trial with its id, times, status and record unchanged.

Kallisti (Django) keeps its objects in `kallisticore_*` tables on SQLite, MySQL
or PostgreSQL: ids are UUIDs (32 hex characters on SQLite and MySQL), JSON
fields are text, and times are UTC (naive on SQLite and MySQL). The import
reads those tables as they are and writes this project's rows with the same
ids, so running it twice changes nothing: rows whose id is already here are
left alone.

Imported trials that had not ended (`Scheduled`, `In Progress`, `Stop
Initiated`) keep their status but are held so that no worker runs or recovers
them: they ran, or were meant to run, on the old service.

Each run writes one audit entry (`kallisti.import`) in the same transaction:
who ran it, the source with its password masked, and what was found and added.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from kallisti.domain.errors import InvalidInput
from kallisti.domain.models import TERMINAL_STATUSES, ExperimentCreate
from kallisti.domain.record import SECTIONS
from kallisti.domain.schedules import next_fire_time
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.store import Store
from kallisti.store.tables import experiments, notification_settings, schedules, trials

__all__ = [
    "IMPORTED_WORKER",
    "KINDS",
    "ImportSummary",
    "import_kallisti_database",
    "masked_source",
    "missing_driver",
    "source_url",
]

IMPORTED_WORKER = "kallisti-import"
"""The `worker_id` holding imported trials that had not ended."""

# Never reached: a held trial is neither claimed nor recovered.
_HELD_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)
_NOTIFICATION_ROW = 1

KINDS = ("experiments", "schedules", "trials", "notification")
"""What an import counts, in the order it reports them."""


@dataclass
class ImportSummary:
    """What an import found in the Kallisti database and what it added."""

    found: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    cannot_run: list[str] = field(default_factory=list)
    """Experiments imported as stored that this project would refuse (A3)."""

    def count(self, kind: str, added: bool) -> None:
        self.found[kind] = self.found.get(kind, 0) + 1
        if added:
            self.added[kind] = self.added.get(kind, 0) + 1

    def to_detail(self) -> dict[str, str]:
        """Added and skipped counts per kind, as an audit entry's detail."""
        detail: dict[str, str] = {}
        for kind in KINDS:
            added = self.added.get(kind, 0)
            detail[f"{kind}_added"] = str(added)
            detail[f"{kind}_skipped"] = str(self.found.get(kind, 0) - added)
        return detail


def source_url(location: str) -> str:
    """A SQLAlchemy URL for a Kallisti database given as a URL or a SQLite path.

    `postgres://`/`postgresql://` use psycopg and `mysql://` PyMySQL, as this
    project's own URLs do.
    """
    if "://" not in location:
        return f"sqlite:///{location}"
    scheme, rest = location.split("://", 1)
    drivers = {
        "postgres": "postgresql+psycopg",
        "postgresql": "postgresql+psycopg",
        "mysql": "mysql+pymysql",
    }
    return f"{drivers.get(scheme, scheme)}://{rest}"


# The MySQL drivers are optional; psycopg comes with Kallisti.
_MYSQL_DRIVERS = {
    "pymysql": "pip install 'kallisti[mysql]'",
    "MySQLdb": "pip install mysqlclient",
}


def missing_driver(err: ModuleNotFoundError) -> str | None:
    """What to install when a source's database driver is missing, or None."""
    name = (err.name or "").split(".")[0]
    install = _MYSQL_DRIVERS.get(name)
    if install is None:
        return None
    return f"the MySQL driver {name} is not installed: {install}"


def masked_source(location: str) -> str:
    """The source as it may be shown and kept: password and query values masked."""
    if "://" not in location:
        return location
    try:
        url = sa.engine.make_url(location)
    except sa.exc.ArgumentError:
        return location.split("://", 1)[0] + "://***"
    url = url.set(query={key: "***" for key in url.query})
    return url.render_as_string(hide_password=True)


def import_kallisti_database(
    source: sa.Engine, store: Store, *, by: str, source_label: str
) -> ImportSummary:
    """Copy every Kallisti object from `source` into `store`, in one transaction,
    with one audit entry naming `by` and `source_label` (no secret in it).

    Raises `InvalidInput` on `source` when it holds no Kallisti tables.
    """
    summary = ImportSummary()
    with source.connect() as kallisti:
        _require_kallisti_tables(kallisti)
        experiment_rows = _rows(kallisti, "kallisticore_experiment")
        trial_rows = _rows(kallisti, "kallisticore_trial")
        schedule_rows = _rows(kallisti, "kallisticore_trialschedule")
        links = _rows(kallisti, "kallisticore_trialschedule_trials")
        notification_rows = _rows(kallisti, "kallisticore_notification")
    now = store.clock()
    schedule_of = {
        _uuid(link["trial_id"]): _uuid(link["trialschedule_id"]) for link in links
    }
    with store.write() as conn:
        snapshots: dict[str, dict[str, Any]] = {}
        for row in experiment_rows:
            values = _experiment(row, now)
            snapshots[values["id"]] = _snapshot(values)
            if not _valid(values):
                summary.cannot_run.append(values["id"])
            summary.count("experiments", _insert_new(conn, experiments, values))
        for row in schedule_rows:
            summary.count(
                "schedules", _insert_new(conn, schedules, _schedule(row, now))
            )
        for row in trial_rows:
            values = _trial(row, now, snapshots, schedule_of)
            summary.count("trials", _insert_new(conn, trials, values))
        for row in notification_rows:
            summary.count("notification", _merge_emails(conn, row, now))
        entry = AuditChange(
            "kallisti.import",
            "database",
            None,
            detail={"source": source_label, **summary.to_detail()},
        )
        audit_changes(conn, now, [entry], actor=by)
    return summary


def _require_kallisti_tables(conn: Connection) -> None:
    names = set(sa.inspect(conn).get_table_names())
    if "kallisticore_experiment" not in names or "kallisticore_trial" not in names:
        raise InvalidInput(
            "source",
            "holds no Kallisti tables (kallisticore_experiment, kallisticore_trial)",
        )


def _rows(conn: Connection, table: str) -> list[dict[str, Any]]:
    if not sa.inspect(conn).has_table(table):
        return []
    name = conn.dialect.identifier_preparer.quote(table)
    result = conn.execute(sa.text(f"SELECT * FROM {name}"))
    return [dict(row) for row in result.mappings()]


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _json(value: Any, empty: Any) -> Any:
    """A Kallisti JSON text field, parsed as Kallisti reads it ('' is empty)."""
    if value is None or value == "":
        return empty
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return json.loads(value) if isinstance(value, str) else value


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    # Django keeps UTC; SQLite and MySQL rows carry no zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _experiment(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": _uuid(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "metadata": _json(row["metadata"], {}),
        "parameters": _json(row["parameters"], {}),
        **{section: _json(row[section], []) for section in SECTIONS},
        "created_by": row["created_by"],
        # Kallisti keeps no creation time for experiments.
        "created_at": now,
        "updated_at": now,
        "deleted_at": _time(row["deleted_at"]),
    }


def _snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "description", "metadata", "parameters", *SECTIONS)
    snapshot = {key: values[key] for key in keys}
    snapshot["created_by"] = values["created_by"]
    snapshot["created_at"] = values["created_at"].isoformat()
    snapshot["updated_at"] = values["updated_at"].isoformat()
    return snapshot


def _valid(values: Mapping[str, Any]) -> bool:
    try:
        ExperimentCreate.model_validate(
            {key: values[key] for key in ("name", "metadata", "parameters", *SECTIONS)}
        )
    except ValueError:
        return False
    return True


def _schedule(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    created_at = _time(row["created_at"]) or now
    deleted_at = _time(row["deleted_at"])
    left = row["recurrence_left"]
    live = deleted_at is None and left != 0
    return {
        "id": _uuid(row["id"]),
        "experiment_id": _uuid(row["experiment_id"]),
        "parameters": _json(row["parameters"], {}),
        # Kallisti stores the experiment's metadata merged in; shown the same.
        "metadata": _json(row["metadata"], {}),
        "ticket": _json(row["ticket"], {}),
        "recurrence_pattern": row["recurrence_pattern"],
        "timezone": "UTC",
        "recurrence_count": row["recurrence_count"],
        "recurrence_left": left,
        "next_fire_at": _next_tick(row["recurrence_pattern"], now) if live else None,
        "created_by": row["created_by"],
        "created_at": created_at,
        "updated_at": created_at,
        "deleted_at": deleted_at,
    }


def _next_tick(pattern: str, now: datetime) -> datetime | None:
    try:
        return next_fire_time(pattern, "UTC", now)
    except (InvalidInput, ValueError):
        return None  # kept as stored; it never fires


def _trial(
    row: Mapping[str, Any],
    now: datetime,
    snapshots: Mapping[str, dict[str, Any]],
    schedule_of: Mapping[str, str],
) -> dict[str, Any]:
    trial_id = _uuid(row["id"])
    experiment_id = _uuid(row["experiment_id"])
    executed_at = _time(row["executed_at"])
    status = str(row["status"])
    values: dict[str, Any] = {
        "id": trial_id,
        "experiment_id": experiment_id,
        "experiment_snapshot": snapshots.get(experiment_id, {}),
        "parameters": _json(row["parameters"], {}),
        "metadata": _json(row["metadata"], {}),
        "ticket": _json(row["ticket"], {}),
        "status": status,
        # The record exactly as Kallisti's recorder wrote it.
        "trial_record": _json(row["records"], {}),
        "initiated_by": row["initiated_by"],
        "initiated_from": row.get("initiated_from") or "unknown",
        "schedule_id": schedule_of.get(trial_id),
        "dry_run": False,
        # Kallisti keeps no creation time for trials.
        "created_at": executed_at or now,
        "executed_at": executed_at,
        "completed_at": _time(row["completed_at"]),
    }
    if status not in {s.value for s in TERMINAL_STATUSES}:
        values.update(
            worker_id=IMPORTED_WORKER,
            lease_expires_at=_HELD_UNTIL,
            not_before=_HELD_UNTIL,
            stop_reason=None,
        )
    return values


def _insert_new(conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> bool:
    present = conn.execute(
        sa.select(table.c.id).where(table.c.id == values["id"])
    ).first()
    if present is not None:
        return False
    conn.execute(table.insert().values(**values))
    return True


def _merge_emails(conn: Connection, row: Mapping[str, Any], now: datetime) -> bool:
    emails: list[str] = list(_json(row["emails"], []))
    current = conn.execute(
        sa.select(notification_settings).where(
            notification_settings.c.id == _NOTIFICATION_ROW
        )
    ).first()
    if current is None:
        conn.execute(
            notification_settings.insert().values(
                id=_NOTIFICATION_ROW, emails=emails, webhooks=[], updated_at=now
            )
        )
        return bool(emails)
    missing = _missing(current.emails, emails)
    if missing:
        conn.execute(
            notification_settings.update()
            .where(notification_settings.c.id == _NOTIFICATION_ROW)
            .values(emails=[*current.emails, *missing], updated_at=now)
        )
    return bool(missing)


def _missing(present: Iterable[str], wanted: Iterable[str]) -> list[str]:
    have = set(present)
    return [email for email in wanted if email not in have]
