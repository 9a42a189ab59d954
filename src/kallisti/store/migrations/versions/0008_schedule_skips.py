"""A schedule says why it last skipped a tick (a blackout window, the halt
switch, a creation hook's refusal): `last_skipped_at`, `last_skip_reason`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kallisti.store.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("last_skipped_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("last_skip_reason", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("last_skip_reason")
        batch.drop_column("last_skipped_at")
