"""Creating the SQLAlchemy engine for SQLite or PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, cast
from weakref import WeakKeyDictionary

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = [
    "NO_WAIT_OPTION",
    "SINGLE_STATEMENT_OPTION",
    "WRITE_OPTION",
    "DriverStatement",
    "WriteLockTaken",
    "create_db_engine",
    "single_statement_engine",
    "write_lock",
    "write_lock_if_free",
]

WRITE_OPTION = "kallisti_write"
# A write that must not wait for SQLite's write lock: BEGIN IMMEDIATE fails at
# once with `WriteLockTaken` instead (see `Store.write_now`).
NO_WAIT_OPTION = "kallisti_no_wait"
_BUSY_TIMEOUT_MS = 30000
# A read of one statement needs no transaction of its own: SQLite runs each
# statement atomically, and skipping BEGIN saves a round through the driver.
SINGLE_STATEMENT_OPTION = "kallisti_single_statement"

# SQLite admits one writer at a time, and a thread that finds the write lock
# taken sleeps in SQLite's busy handler (1, 2, 5, ... 100 ms) instead of waking
# when it is released: writes from one process's threads queue on a Python lock
# instead, which wakes the next writer at once. Keyed by engine, so two stores
# in one process (tests) keep their own.
_SQLITE_WRITE_LOCKS: WeakKeyDictionary[Engine, threading.RLock] = WeakKeyDictionary()


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """Hold this while a write transaction on `engine` is open (SQLite only)."""
    lock = _SQLITE_WRITE_LOCKS.get(engine)
    return nullcontext() if lock is None else lock


@contextmanager
def write_lock_if_free(engine: Engine) -> Iterator[None]:
    """`write_lock` of a SQLite engine, taken only if no other thread holds
    it; raises `WriteLockTaken` otherwise."""
    lock = _SQLITE_WRITE_LOCKS[engine]
    if not lock.acquire(blocking=False):
        raise WriteLockTaken
    try:
        yield
    finally:
        lock.release()


def _json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits; a record must still be written.
        return json.dumps(value)


# Trial records are JSON documents read in bulk by lists and reports: orjson
# parses them several times faster than the standard library.
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": _json_dumps,
    "json_deserializer": orjson.loads,
}


# Kallisti's transactions last milliseconds. A process frozen inside one (a
# stopped VM, SIGSTOP, a debugger) would hold its row locks for ever and stall
# every other worker: the server ends such a session after a minute instead.
_POSTGRES_SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=60000"


def create_db_engine(url: str) -> Engine:
    """Create an engine tuned for Kallisti's short transactions."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"options": _POSTGRES_SESSION_OPTIONS},
        **_JSON_CODEC,
    )


def single_statement_engine(engine: Engine) -> Engine:
    """`engine`, for transactions of exactly one statement.

    Such a statement is atomic by itself, so it needs no BEGIN and COMMIT:
    on SQLite a read skips BEGIN (a write still takes the write lock with
    BEGIN IMMEDIATE, see `Repository._write_one_statement`); on PostgreSQL
    the connection is in autocommit, which saves the two round trips that
    were two of every three statements an idle worker sent. Under READ
    COMMITTED each statement sees a snapshot of its own anyway.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{SINGLE_STATEMENT_OPTION: True})


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=16,
        pool_use_lifo=True,
        **_JSON_CODEC,
    )
    _SQLITE_WRITE_LOCKS[engine] = threading.RLock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit in the driver: SQLAlchemy's begin event below decides how
        # each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # Each pooled connection keeps its own page cache (2 MB by default, up
        # to 24 connections): it fills as the database grows and the process's
        # memory with it. The operating system caches the file anyway; a list of
        # 10,000 trials reads no slower with 512 KiB.
        cursor.execute("PRAGMA cache_size=-512")
        # Checkpoints run on a thread of their own (`store.checkpoint`), not in
        # whichever commit fills the log.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A write transaction takes the write lock up front (BEGIN IMMEDIATE):
        # upgrading a read lock later can fail with "database is locked" no
        # matter how long busy_timeout is.
        # Run on the driver itself: through SQLAlchemy's execution machinery
        # a BEGIN costs ten times what SQLite takes for it.
        options = connection.get_execution_options()
        if options.get(NO_WAIT_OPTION):
            _begin_without_waiting(connection)
        elif options.get(WRITE_OPTION):
            _driver_connection(connection).execute("BEGIN IMMEDIATE")
        elif not options.get(SINGLE_STATEMENT_OPTION):
            _driver_connection(connection).execute("BEGIN")

    return engine


class WriteLockTaken(Exception):
    """Another connection holds SQLite's write lock (a write that must not
    wait was refused before it began)."""


def _begin_without_waiting(connection: sa.Connection) -> None:
    driver = _driver_connection(connection)
    driver.execute("PRAGMA busy_timeout=0")
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        if "locked" not in str(err) and "busy" not in str(err):
            raise
        raise WriteLockTaken from None
    finally:
        driver.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


class DriverStatement:
    """A statement compiled once for a dialect and run with the database
    driver's own cursor: a read on a pooled connection of its own
    (`read_one`), or a write inside a SQLAlchemy transaction (`run`,
    `run_many`).

    For the busiest statements (a trial by id, the rows every creation
    writes): SQLAlchemy's execution context and result objects cost several
    times what the database takes (on SQLite about 60 µs against 15 per
    statement). Parameters are converted exactly as SQLAlchemy converts them
    (the column types' own bind processors: JSON, times, booleans); rows come
    back as the driver gives them (JSON and times are text on SQLite), so
    the caller finishes the values itself.
    """

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        *,
        columns: Sequence[str] | None = None,
    ) -> None:
        """`columns`: for an INSERT, the columns every row gives, no more and
        no fewer (the others keep their defaults)."""
        compiled = cast(
            SQLCompiler,
            statement.compile(
                dialect=dialect,
                column_keys=None if columns is None else list(columns),
            ),
        )
        self._sql = str(compiled)
        # The parameters in the driver's order (SQLite's `?`), or None where
        # the driver takes them by name (PostgreSQL).
        self._positions: list[str] | None = compiled.positiontup
        # Values written into the statement itself (`id == 1`).
        self._fixed = {
            name: value for name, value in compiled.params.items() if value is not None
        }
        self._converters = {
            name: converter
            for name, bind in compiled.binds.items()
            if (converter := bind.type.dialect_impl(dialect).bind_processor(dialect))
            is not None
        }
        # For `mappings`: the columns a row holds, and what each value goes
        # through in SQLAlchemy (JSON parsed, times made aware), known once
        # the driver has described the columns' types.
        self._returned = compiled._result_columns
        self._names = [column.keyname for column in self._returned]
        self._dialect = dialect
        self._readers: list[tuple[int, Callable[[Any], Any]]] | None = None

    def _driver_parameters(self, parameters: Mapping[str, Any]) -> Any:
        converted = {**self._fixed, **parameters}
        for name, convert in self._converters.items():
            converted[name] = convert(converted[name])
        if self._positions is None:
            return converted
        return tuple(converted[name] for name in self._positions)

    def read_one(self, engine: Engine, **parameters: Any) -> tuple[Any, ...] | None:
        """The first row for these parameters, read on a pooled connection of
        its own (no transaction on SQLite), or None."""
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, self._driver_parameters(parameters))
                row: tuple[Any, ...] | None = cursor.fetchone()
                return row
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, its transaction rolled back

    def run(self, conn: Connection, **parameters: Any) -> tuple[Any, ...] | None:
        """Run it once in `conn`'s transaction; its first row, if it has any."""
        cursor = _driver_cursor(conn)
        try:
            cursor.execute(self._sql, self._driver_parameters(parameters))
            if cursor.description is None:
                return None
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row
        finally:
            cursor.close()

    def rows(self, conn: Connection, **parameters: Any) -> list[tuple[Any, ...]]:
        """Every row, read in `conn`'s transaction."""
        return self._fetch_all(conn, parameters)[1]

    def mappings(self, conn: Connection, **parameters: Any) -> list[dict[str, Any]]:
        """Every row, read in `conn`'s transaction, as a dict by column name
        with the values SQLAlchemy would give (JSON parsed, times aware)."""
        description, rows = self._fetch_all(conn, parameters)
        if self._readers is None:
            self._readers = self._readers_for(description)
        found = []
        for row in rows:
            values = list(row)
            for at, read in self._readers:
                values[at] = read(values[at])
            found.append(dict(zip(self._names, values, strict=True)))
        return found

    def _fetch_all(
        self, conn: Connection, parameters: Mapping[str, Any]
    ) -> tuple[Sequence[Sequence[Any]], list[tuple[Any, ...]]]:
        """The driver's description of the columns, and every row."""
        cursor = _driver_cursor(conn)
        try:
            cursor.execute(self._sql, self._driver_parameters(parameters))
            found: list[tuple[Any, ...]] = cursor.fetchall()
            return cursor.description, found
        finally:
            cursor.close()

    def _readers_for(
        self, description: Sequence[Sequence[Any]]
    ) -> list[tuple[int, Callable[[Any], Any]]]:
        # The driver's type codes choose the reader on PostgreSQL (a float8
        # comes back a float, a numeric a Decimal); SQLite has none.
        readers: list[tuple[int, Callable[[Any], Any]]] = []
        for at, (column, described) in enumerate(
            zip(self._returned, description, strict=True)
        ):
            impl = column.type.dialect_impl(self._dialect)
            reader = impl.result_processor(self._dialect, described[1])
            if reader is not None:
                readers.append((at, reader))
        return readers

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per row (an INSERT's rows), in `conn`'s transaction."""
        cursor = _driver_cursor(conn)
        try:
            cursor.executemany(self._sql, [self._driver_parameters(r) for r in rows])
        finally:
            cursor.close()


def _driver_connection(conn: Connection) -> Any:
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is None:
        raise RuntimeError("the connection is closed")
    return dbapi_connection


def _driver_cursor(conn: Connection) -> Any:
    return _driver_connection(conn).cursor()
