"""Trial records keep their text on PostgreSQL: `json`, not `jsonb`.

`jsonb` orders an object's keys its own way (shorter keys first), so a record
came back in another order than it was written, and an imported Kallisti
record was no longer byte for byte what Kallisti served. `json` keeps the text
as written. No query looks into a record, so no operator or index is lost.
Records written while the column was `jsonb` keep the order `jsonb` gave them.
SQLite keeps JSON as text already: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# A type change rewrites the table without firing its row triggers: the
# triggers refusing changes to finished trials stay as they are.
def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE trials ALTER COLUMN trial_record TYPE json "
            "USING trial_record::json"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE trials ALTER COLUMN trial_record TYPE jsonb "
            "USING trial_record::jsonb"
        )
