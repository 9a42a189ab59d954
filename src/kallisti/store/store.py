"""The store: one database engine and the repositories over it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from kallisti.domain.record import Clock, utc_now
from kallisti.store.audit import AuditRepository
from kallisti.store.db import WRITE_OPTION, create_db_engine, write_lock
from kallisti.store.limits import LimitRepository
from kallisti.store.migrate import upgrade_to_head
from kallisti.store.notifications import NotificationRepository
from kallisti.store.repositories import ExperimentRepository, TrialRepository
from kallisti.store.safety import SafetyRepository
from kallisti.store.schedules import ScheduleRepository
from kallisti.store.tokens import TokenRepository

__all__ = ["Store"]


class Store:
    """Everything Kallisti keeps, behind repositories; build one per process."""

    def __init__(self, database_url: str, *, clock: Clock = utc_now) -> None:
        self.database_url = database_url
        self.engine = create_db_engine(database_url)
        self.clock = clock
        self.experiments = ExperimentRepository(self.engine, clock)
        self.trials = TrialRepository(self.engine, clock)
        self.schedules = ScheduleRepository(self.engine, clock)
        self.notifications = NotificationRepository(self.engine, clock)
        self.tokens = TokenRepository(self.engine, clock)
        self.audit = AuditRepository(self.engine, clock)
        self.limits = LimitRepository(self.engine, clock)
        self.experiments.on_soft_delete.append(self.schedules.delete_for_experiment)
        self.safety = SafetyRepository(self.engine, clock)
        self.trials.before_create.append(self.safety.check_may_start)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest revision (safe to run concurrently)."""
        upgrade_to_head(self.engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without error."""
        writer = self.engine.execution_options(**{WRITE_OPTION: True})
        with write_lock(self.engine), writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
