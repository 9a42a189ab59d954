"""The store: one database engine and the repositories over it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection

from kallisti.domain.record import Clock, utc_now
from kallisti.store.audit import AuditRepository
from kallisti.store.checkpoint import WalCheckpointer
from kallisti.store.db import (
    NO_WAIT_OPTION,
    WRITE_OPTION,
    WriteLockTaken,
    create_db_engine,
    single_statement_engine,
    write_lock,
    write_lock_if_free,
)
from kallisti.store.ledger import LedgerRepository
from kallisti.store.limits import LimitRepository
from kallisti.store.migrate import upgrade_to_head
from kallisti.store.notifications import NotificationRepository
from kallisti.store.repositories import ExperimentRepository, TrialRepository
from kallisti.store.safety import SafetyRepository
from kallisti.store.schedules import ScheduleRepository
from kallisti.store.tokens import TokenRepository
from kallisti.store.workers import WorkerRepository

__all__ = ["Store"]

P = ParamSpec("P")
R = TypeVar("R")


class Store:
    """Everything Kallisti keeps, behind repositories; build one per process."""

    def __init__(self, database_url: str, *, clock: Clock = utc_now) -> None:
        self.database_url = database_url
        self.engine = create_db_engine(database_url)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self._writer_now = self.engine.execution_options(
            **{WRITE_OPTION: True, NO_WAIT_OPTION: True}
        )
        self._loop_writer: Connection | None = None
        self._single_statement = single_statement_engine(self.engine)
        self.clock = clock
        self.experiments = ExperimentRepository(self.engine, clock)
        self.trials = TrialRepository(self.engine, clock)
        self.schedules = ScheduleRepository(self.engine, clock)
        self.notifications = NotificationRepository(self.engine, clock)
        self.tokens = TokenRepository(self.engine, clock)
        self.audit = AuditRepository(self.engine, clock)
        self.limits = LimitRepository(self.engine, clock)
        self.workers = WorkerRepository(self.engine, clock)
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer = (
            WalCheckpointer(self.engine) if self.dialect == "sqlite" else None
        )
        self.experiments.on_soft_delete.append(self.schedules.delete_for_experiment)
        self.safety = SafetyRepository(self.engine, clock)
        self.ledger = LedgerRepository(self.engine, clock)
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
        with write_lock(self.engine), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def write_now(self) -> Iterator[Connection]:
        """`write`, on SQLite only, and only if the write lock is free: raises
        `WriteLockTaken` at once, before anything is written, when another
        thread or process holds it. For writes made on the event loop, which
        must never sleep in SQLite's busy handler."""
        if self.dialect != "sqlite":
            raise WriteLockTaken
        with write_lock_if_free(self.engine):
            conn = self._loop_writer_connection()
            if conn.in_transaction():  # a write_now inside another
                raise WriteLockTaken
            with conn.begin():
                yield conn

    def _loop_writer_connection(self) -> Connection:
        # One connection, kept, for the writes made on the event loop: taking
        # one from the pool and giving it back cost as much as the write.
        # Only the holder of the write lock uses it.
        conn = self._loop_writer
        if conn is None or conn.closed or conn.invalidated:
            conn = self._loop_writer = self._writer_now.connect()
        return conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def read_one_statement(self) -> Iterator[Connection]:
        """A read that runs exactly one statement, outside any transaction
        (see `single_statement_engine`)."""
        with self._single_statement.connect() as conn:
            yield conn

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The threads store calls from async code run on, one per pooled
        connection: no blocking driver shares them, so a hostile step can never
        keep a worker from claiming, heartbeating or closing trials."""
        if self._executor is None:
            pool = self.engine.pool
            size = getattr(pool, "size", lambda: 8)() + max(
                getattr(pool, "_max_overflow", 0), 0
            )
            self._executor = ThreadPoolExecutor(
                max_workers=max(size, 4), thread_name_prefix="kallisti-store"
            )
        return self._executor

    async def run(
        self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a blocking store call on the store's own threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, functools.partial(function, *args, **kwargs)
        )

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        with write_lock(self.engine):
            if self._loop_writer is not None:
                self._loop_writer.close()
                self._loop_writer = None
        self.engine.dispose()
