"""The tables. A trial row is also the job: the queue is the `trials` table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

__all__ = [
    "audit_head",
    "audit_log",
    "experiments",
    "fault_ledger",
    "machine_tokens",
    "metadata",
    "notification_settings",
    "safety_switches",
    "schedules",
    "target_leases",
    "trials",
    "workers",
]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC times")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        # SQLite keeps text: store naive UTC so that text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# A trial record keeps its keys in the order written (and an imported Kallisti
# record its text): `json` on PostgreSQL, never `jsonb`, which reorders them.
RECORD_JSON = sa.JSON()

metadata = sa.MetaData()

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("metadata", JSON, nullable=False),
    sa.Column("parameters", JSON, nullable=False),
    sa.Column("pre_steps", JSON, nullable=False),
    sa.Column("steps", JSON, nullable=False),
    sa.Column("post_steps", JSON, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    # Safety (optional): guards, limits.
    sa.Column("guards", JSON, nullable=True),
    sa.Column("max_duration_seconds", sa.Float, nullable=True),
    sa.Column("max_concurrent_trials", sa.Integer, nullable=True),
    sa.Index("ix_experiments_created_at", "created_at"),
    # The few deleted ones, which lists leave out (migration 0009).
    sa.Index(
        "ix_experiments_deleted",
        "id",
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    ),
)

trials = sa.Table(
    "trials",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "experiment_id", sa.String(36), sa.ForeignKey("experiments.id"), nullable=False
    ),
    # The experiment as it was when the trial was created: what ran is on record
    # even if the experiment is edited or deleted afterwards.
    sa.Column("experiment_snapshot", JSON, nullable=False),
    sa.Column("parameters", JSON, nullable=False),
    sa.Column("metadata", JSON, nullable=False),
    sa.Column("ticket", JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("trial_record", RECORD_JSON, nullable=False),
    sa.Column("initiated_by", sa.String(255), nullable=False),
    sa.Column("initiated_from", sa.String(32), nullable=False),
    sa.Column("schedule_id", sa.String(36), nullable=True),
    sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("executed_at", UTCDateTime, nullable=True),
    sa.Column("completed_at", UTCDateTime, nullable=True),
    sa.Column("worker_id", sa.String(255), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("stop_reason", sa.Text, nullable=True),
    # Safety: the request's guards and limit, why it ended early (`user`,
    # `halt`, `guard:<name>`, ...), what it waits for, faults left behind.
    sa.Column("guards", JSON, nullable=True),
    sa.Column("max_duration_seconds", sa.Float, nullable=True),
    sa.Column("stop_cause", sa.String(300), nullable=True),
    sa.Column("waiting_for", sa.Text, nullable=True),
    sa.Column("waiting_since", UTCDateTime, nullable=True),
    sa.Column("not_before", UTCDateTime, nullable=True),
    sa.Column("residual_faults", JSON, nullable=True),
    # Names of the parameters templated into a secret's place: masked for readers.
    sa.Column("secret_parameters", JSON, nullable=True),
    sa.Index("ix_trials_status_created_at", "status", "created_at"),
    sa.Index("ix_trials_experiment_id_created_at", "experiment_id", "created_at"),
    # Lists page in this order; holding the experiment, the index alone
    # answers which trials a page holds.
    sa.Index(
        "ix_trials_created_at_id_experiment_id", "created_at", "id", "experiment_id"
    ),
    sa.Index("ix_trials_worker_id", "worker_id"),
)

# --- Schedules and notifications (issue 5) ---

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "experiment_id", sa.String(36), sa.ForeignKey("experiments.id"), nullable=False
    ),
    sa.Column("parameters", JSON, nullable=False),
    # The schedule's own keys; the experiment's metadata is laid under them when
    # the schedule is read and when it starts a trial.
    sa.Column("metadata", JSON, nullable=False),
    sa.Column("ticket", JSON, nullable=False),
    sa.Column("recurrence_pattern", sa.String(255), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("recurrence_count", sa.Integer, nullable=True),
    sa.Column("recurrence_left", sa.Integer, nullable=True),
    # The tick the schedule fires next; null once it is spent. Firing claims a
    # tick with one UPDATE conditional on this value (exactly once per tick).
    sa.Column("next_fire_at", UTCDateTime, nullable=True),
    sa.Column("last_fired_at", UTCDateTime, nullable=True),
    # The last tick skipped without a trial (blackout, halt, refusal), and why.
    sa.Column("last_skipped_at", UTCDateTime, nullable=True),
    sa.Column("last_skip_reason", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    sa.Index("ix_schedules_next_fire_at", "next_fire_at"),
    sa.Index("ix_schedules_experiment_id_created_at", "experiment_id", "created_at"),
)

# A single row (id 1): who is told when a trial completes.
notification_settings = sa.Table(
    "notification_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("emails", JSON, nullable=False),
    # [{"url": ..., "secret": ... | null}]; secrets sign payloads, never leave.
    sa.Column("webhooks", JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sa.Index("ix_trials_schedule_id_created_at", trials.c.schedule_id, trials.c.created_at)

# --- Safety of the blast ---

# A single row (id 1): the halt switch and the blackout windows.
safety_switches = sa.Table(
    "safety_switches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("halted", sa.Boolean, nullable=False),
    sa.Column("halt_reason", sa.Text, nullable=True),
    sa.Column("halted_by", sa.String(255), nullable=True),
    sa.Column("halted_at", UTCDateTime, nullable=True),
    sa.Column("blackout_windows", JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A running trial holds its targets; a lease is live while its trial runs
# under a live worker lease.
target_leases = sa.Table(
    "target_leases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("trial_id", sa.String(36), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Index("ix_target_leases_trial_id", "trial_id"),
)

# What each changing action changed, written before it acts, and how to undo it.
fault_ledger = sa.Table(
    "fault_ledger",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("trial_id", sa.String(36), nullable=False),
    sa.Column("step_name", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("undo", JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_fault_ledger_trial_id", "trial_id"),
)

# --- Machine tokens and the audit trail (see kallisti.auth, store/audit.py) ---

# Only a hash of each token is kept; a name is unique among live tokens.
machine_tokens = sa.Table(
    "machine_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Index(
        "ux_machine_tokens_live_name",
        "name",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Append-only and hash-chained: each entry's hash covers its fields and the
# previous entry's hash, and `seq` has no gaps, so an edited, reordered or
# deleted row breaks the chain.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    sa.Column("before_digest", sa.String(64), nullable=True),
    sa.Column("after_digest", sa.String(64), nullable=True),
    sa.Column("detail", JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_target", "target_type", "target_id"),
    sa.Index("ix_audit_log_actor", "actor"),
)

# A single row (id 1): the chain's newest seq and hash. Appenders lock it, so
# concurrent appends queue here; a truncated tail no longer matches it.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", _SEQ, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One row per worker process: what `/health` reads, whether the worker runs in
# the API's process or in another one.
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("last_claim_at", UTCDateTime, nullable=True),
    sa.Column("last_close_at", UTCDateTime, nullable=True),
    # {"claim" | "heartbeat" | "close" | ...: "what went wrong"}; an entry goes
    # when that work next succeeds.
    sa.Column("failing", JSON, nullable=False),
    sa.Column("stopped_at", UTCDateTime, nullable=True),
)
