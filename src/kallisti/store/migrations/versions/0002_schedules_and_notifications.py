"""Trial schedules and the notification settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kallisti.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.String(36),
            sa.ForeignKey("experiments.id"),
            nullable=False,
        ),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("ticket", JSON, nullable=False),
        sa.Column("recurrence_pattern", sa.String(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("recurrence_count", sa.Integer, nullable=True),
        sa.Column("recurrence_left", sa.Integer, nullable=True),
        sa.Column("next_fire_at", UTCDateTime, nullable=True),
        sa.Column("last_fired_at", UTCDateTime, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_schedules_next_fire_at", "schedules", ["next_fire_at"])
    op.create_index(
        "ix_schedules_experiment_id_created_at",
        "schedules",
        ["experiment_id", "created_at"],
    )
    op.create_index(
        "ix_trials_schedule_id_created_at", "trials", ["schedule_id", "created_at"]
    )
    notification = op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("emails", JSON, nullable=False),
        sa.Column("webhooks", JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    # Kallisti seeds its singleton too: GET /notification answers from the start.
    op.bulk_insert(
        notification,
        [{"id": 1, "emails": [], "webhooks": [], "updated_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    op.drop_table("notification_settings")
    op.drop_index("ix_trials_schedule_id_created_at", table_name="trials")
    op.drop_table("schedules")
