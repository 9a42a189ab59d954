"""Experiments and trials, with finished trials made immutable by the database.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kallisti.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TERMINAL = "('Succeeded', 'Failed', 'Aborted', 'Invalid', 'Stopped')"


def upgrade() -> None:
    op.create_table(
        "experiments",
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
    )
    op.create_index("ix_experiments_created_at", "experiments", ["created_at"])
    op.create_table(
        "trials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.String(36),
            sa.ForeignKey("experiments.id"),
            nullable=False,
        ),
        sa.Column("experiment_snapshot", JSON, nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("ticket", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trial_record", JSON, nullable=False),
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
    )
    op.create_index("ix_trials_status_created_at", "trials", ["status", "created_at"])
    op.create_index(
        "ix_trials_experiment_id_created_at", "trials", ["experiment_id", "created_at"]
    )
    op.create_index("ix_trials_created_at", "trials", ["created_at"])
    op.create_index("ix_trials_worker_id", "trials", ["worker_id"])

    # The audit trail is enforced where it is kept: a finished trial cannot be
    # changed and no trial can be deleted, whatever code talks to the database.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION kallisti_protect_trials() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'kallisti: trials cannot be deleted';
                END IF;
                IF OLD.status IN {TERMINAL} THEN
                    RAISE EXCEPTION 'kallisti: a finished trial is immutable';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER trials_protected BEFORE UPDATE OR DELETE ON trials "
            "FOR EACH ROW EXECUTE FUNCTION kallisti_protect_trials()"
        )
    else:
        op.execute(
            f"""
            CREATE TRIGGER trials_finished_immutable BEFORE UPDATE ON trials
            WHEN OLD.status IN {TERMINAL}
            BEGIN SELECT RAISE(ABORT, 'kallisti: a finished trial is immutable'); END
            """
        )
        op.execute(
            """
            CREATE TRIGGER trials_never_deleted BEFORE DELETE ON trials
            BEGIN SELECT RAISE(ABORT, 'kallisti: trials cannot be deleted'); END
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trials_protected ON trials")
        op.execute("DROP FUNCTION kallisti_protect_trials()")
    op.drop_table("trials")
    op.drop_table("experiments")
