"""The workers table: each worker's heartbeat and what it fails to do; the
names of each trial's parameters that hold secrets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kallisti.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
        sa.Column("last_claim_at", UTCDateTime, nullable=True),
        sa.Column("last_close_at", UTCDateTime, nullable=True),
        sa.Column("failing", JSON, nullable=False),
        sa.Column("stopped_at", UTCDateTime, nullable=True),
    )
    op.add_column("trials", sa.Column("secret_parameters", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.drop_column("secret_parameters")
    op.drop_table("workers")
