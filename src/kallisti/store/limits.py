"""Queries behind per-caller limits (see `kallisti.auth.ratelimit`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from kallisti.store.base import Repository
from kallisti.store.tables import trials

__all__ = ["LimitRepository"]


class LimitRepository(Repository):
    def trials_started_since(
        self, initiated_by: str, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many trials `initiated_by` started (not schedules) at or after
        `since`, and when the oldest of them was created."""
        query = sa.select(sa.func.count(), sa.func.min(trials.c.created_at)).where(
            (trials.c.created_at >= since)
            & (trials.c.initiated_by == initiated_by)
            & trials.c.schedule_id.is_(None)
        )
        with self._read() as conn:
            count, oldest = conn.execute(query).one()
        return int(count), oldest

    def now(self) -> datetime:
        return self._clock()
