"""What every repository shares: its engine, its clock, and how it opens
read and write transactions."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from kallisti.domain.record import Clock, utc_now
from kallisti.store.db import WRITE_OPTION, single_statement_engine, write_lock

__all__ = ["Repository", "collection_paused"]


class Repository:
    """Base of the repositories; each write is committed when its block ends."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._single_statement = single_statement_engine(engine)
        self._clock = clock

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with write_lock(self._engine), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _read_one_statement(self) -> Iterator[Connection]:
        """A read that runs exactly one statement (a row by key)."""
        with self._single_statement.connect() as conn:
            yield conn

    @contextmanager
    def _write_one_statement(self) -> Iterator[Connection]:
        """A write of exactly one statement, committed when the block ends
        without error: on PostgreSQL it commits by itself (no BEGIN and COMMIT
        round trips); on SQLite it takes the write lock as every write does."""
        if self._engine.dialect.name != "postgresql":
            with self._write() as conn:
                yield conn
            return
        with self._single_statement.connect() as conn:
            yield conn


_paused = 0
_resume = False  # whether collection was on when the first block began
_paused_lock = threading.Lock()


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cycle collection while the block builds many objects that live on
    (a list of 10,000 trials: some 60,000 dicts and lists, none in a cycle).

    Each collection the allocations trigger would walk all of them again, and
    they are freed by reference counting anyway; pausing it made such a list
    half again as fast. Process-wide: collection resumes when the last block
    running in any thread ends.
    """
    global _paused, _resume
    with _paused_lock:
        _paused += 1
        if _paused == 1:
            _resume = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()
