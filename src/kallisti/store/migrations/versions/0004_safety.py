"""Safety of the blast: halt switch, blackout windows, guards, limits, target
leases and the fault ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kallisti.store.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_EXPERIMENT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("guards", JSON),
    ("max_duration_seconds", sa.Float),
    ("max_concurrent_trials", sa.Integer),
)
_TRIAL_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("guards", JSON),
    ("max_duration_seconds", sa.Float),
    ("stop_cause", sa.String(300)),
    ("waiting_for", sa.Text),
    ("waiting_since", UTCDateTime),
    ("not_before", UTCDateTime),
    ("residual_faults", JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        for name, type_ in _EXPERIMENT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("trials") as batch:
        for name, type_ in _TRIAL_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    switches = op.create_table(
        "safety_switches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("halted", sa.Boolean, nullable=False),
        sa.Column("halt_reason", sa.Text, nullable=True),
        sa.Column("halted_by", sa.String(255), nullable=True),
        sa.Column("halted_at", UTCDateTime, nullable=True),
        sa.Column("blackout_windows", JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.bulk_insert(
        switches,
        [
            {
                "id": 1,
                "halted": False,
                "blackout_windows": [],
                "updated_at": datetime.now(UTC),
            }
        ],
    )
    op.create_table(
        "target_leases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("trial_id", sa.String(36), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_target_leases_trial_id", "target_leases", ["trial_id"])
    op.create_table(
        "fault_ledger",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("trial_id", sa.String(36), nullable=False),
        sa.Column("step_name", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("undo", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_fault_ledger_trial_id", "fault_ledger", ["trial_id"])


def downgrade() -> None:
    op.drop_table("fault_ledger")
    op.drop_table("target_leases")
    op.drop_table("safety_switches")
    with op.batch_alter_table("trials") as batch:
        for name, _ in reversed(_TRIAL_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("experiments") as batch:
        for name, _ in reversed(_EXPERIMENT_COLUMNS):
            batch.drop_column(name)
