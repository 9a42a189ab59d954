"""Worker heartbeats: what each worker last managed to do, for `/health`.

A worker writes its row at every heartbeat (a third of the lease); `/health`
reads the rows, so it tells the truth whether the worker runs in the API's
process or in another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from kallisti.domain.record import Clock, utc_now
from kallisti.store.base import Repository
from kallisti.store.tables import workers

__all__ = ["WorkerBeat", "WorkerProblem", "WorkerRepository"]

# Rows of workers silent for longer than this are forgotten by `/health`.
_FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class WorkerBeat:
    """What a worker reports at a heartbeat."""

    worker_id: str
    started_at: datetime
    last_claim_at: datetime | None = None
    last_close_at: datetime | None = None
    failing: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerProblem:
    worker_id: str
    problem: str


class WorkerRepository(Repository):
    """The `workers` rows."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        super().__init__(engine, clock)

    def beat(self, beat: WorkerBeat) -> None:
        """Write the worker's row with a fresh heartbeat: one statement, which
        inserts the row at the first beat (an idle fleet's heartbeats are most
        of what it asks of the database)."""
        values: dict[str, Any] = {
            "heartbeat_at": self._clock(),
            "last_claim_at": beat.last_claim_at,
            "last_close_at": beat.last_close_at,
            "failing": dict(beat.failing),
            "stopped_at": None,
        }
        insert = (
            postgresql.insert(workers)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(workers)
        )
        upsert = insert.values(
            id=beat.worker_id, started_at=beat.started_at, **values
        ).on_conflict_do_update(index_elements=[workers.c.id], set_=values)
        with self._write_one_statement() as conn:
            conn.execute(upsert)

    def stopped(self, worker_id: str) -> None:
        """Mark a worker that shut down cleanly (it is no longer expected)."""
        with self._write() as conn:
            conn.execute(
                workers.update()
                .where(workers.c.id == worker_id)
                .values(stopped_at=self._clock())
            )

    def problems(
        self, *, stale_after: timedelta, expected: str | None = None
    ) -> list[WorkerProblem]:
        """What keeps workers from claiming, heartbeating or closing trials.

        A running worker is in trouble when its heartbeat is older than
        `stale_after` or when some work of its fails. `expected` names a worker
        that must be running (the API's own); an unknown or stopped one is a
        problem too. Workers that stopped cleanly or fell silent long ago are
        not reported.
        """
        now = self._clock()
        with self._read() as conn:
            rows = conn.execute(
                sa.select(workers).where(
                    (workers.c.heartbeat_at > now - _FORGET_AFTER)
                    | (workers.c.id == (expected or ""))
                )
            ).all()
        found: list[WorkerProblem] = []
        seen = False
        for row in rows:
            if row.id == expected:
                seen = True
                if row.stopped_at is not None:
                    found.append(WorkerProblem(row.id, "the worker has stopped"))
                    continue
            elif row.stopped_at is not None:
                continue
            silent = now - row.heartbeat_at
            if silent > stale_after:
                found.append(
                    WorkerProblem(
                        row.id,
                        f"no heartbeat for {silent.total_seconds():.0f} seconds",
                    )
                )
            for work, problem in sorted((row.failing or {}).items()):
                found.append(WorkerProblem(row.id, f"{work}: {problem}"))
        if expected is not None and not seen:
            found.append(WorkerProblem(expected, "the worker has not started"))
        return found
