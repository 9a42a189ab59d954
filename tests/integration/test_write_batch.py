"""Record writes and closes of many trials share transactions: each caller
still gets its own result once committed, and one failing write fails no other."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, event

from kallisti.store import Store
from kallisti.store.audit import (
    AuditActor,
    AuditChange,
    AuditFilter,
    audit_changes,
    current_actor,
)
from kallisti.store.batch import WriteBatch


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'batch.db'}")
    with store.write() as conn:
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    return store


def _insert(body: str) -> Callable[[Connection], int]:
    def write(conn: Connection) -> int:
        result = conn.execute(
            sa.text("INSERT INTO notes (body) VALUES (:body) RETURNING id"),
            {"body": body},
        )
        return int(result.scalar_one())

    return write


def _fail(conn: Connection) -> None:
    raise RuntimeError("this write is refused")


def _bodies(store: Store) -> list[str]:
    with store.read() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT body FROM notes"))]


async def test_writes_queued_together_commit_in_one_transaction(
    sqlite_store: Store,
) -> None:
    transactions: list[Connection] = []
    event.listen(sqlite_store.engine, "begin", transactions.append)
    batch = WriteBatch(sqlite_store)

    ids = await asyncio.gather(
        *(batch.write("record", _insert(f"note {n}")) for n in range(50))
    )

    assert sorted(ids) == list(range(1, 51))
    assert len(ids) == len(set(ids))
    assert len(transactions) <= 2  # the first alone, the others queued behind it
    assert sorted(_bodies(sqlite_store)) == sorted(f"note {n}" for n in range(50))


async def test_a_failing_write_fails_alone_and_the_others_are_committed(
    sqlite_store: Store,
) -> None:
    batch = WriteBatch(sqlite_store)

    results = await asyncio.gather(
        batch.write("record", _insert("first")),
        batch.write("close", _fail),
        batch.write("record", _insert("second")),
        batch.write("close", _insert("third")),
        return_exceptions=True,
    )

    assert isinstance(results[1], RuntimeError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 1)
    assert sorted(_bodies(sqlite_store)) == ["first", "second", "third"]


_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="")


async def test_each_write_sees_its_own_callers_context(sqlite_store: Store) -> None:
    # The audit trail reads the API call's actor and request id from the
    # context: a write drained by another caller's task must still see its own.
    batch = WriteBatch(sqlite_store)

    async def write_as(caller: str) -> str:
        _CALLER.set(caller)
        return await batch.write("record", lambda _conn: _CALLER.get())

    seen = await asyncio.gather(*(write_as(f"caller {n}") for n in range(20)))

    assert seen == [f"caller {n}" for n in range(20)]


def _audited(name: str, *, fail: bool = False) -> Callable[[Connection], None]:
    def write(conn: Connection) -> None:
        audit_changes(
            conn, datetime.now(UTC), [AuditChange("note.create", "note", name)]
        )
        if fail:
            raise RuntimeError("this write is refused")

    return write


async def test_audit_entries_of_a_shared_transaction_chain_in_order(
    sqlite_store: Store,
) -> None:
    # The writes of one transaction append their entries together at its end
    # (one head lock): the chain stays whole, in the writes' order, and a
    # refused write leaves no entry.
    sqlite_store.migrate()
    batch = WriteBatch(sqlite_store)

    async def write_as(name: str, *, fail: bool = False) -> None:
        current_actor.set(AuditActor("someone", f"request of {name}"))
        await batch.write("record", _audited(name, fail=fail))

    results = await asyncio.gather(
        *(write_as(f"note {n}", fail=n == 7) for n in range(20)),
        return_exceptions=True,
    )

    assert [isinstance(r, RuntimeError) for r in results] == [n == 7 for n in range(20)]
    assert sqlite_store.audit.verify().ok
    entries = sqlite_store.audit.list(AuditFilter(action="note.create"))
    assert [e["target_id"] for e in entries] == [
        f"note {n}" for n in range(20) if n != 7
    ]
    assert all(e["request_id"] == f"request of {e['target_id']}" for e in entries)


async def test_on_sqlite_a_batch_commits_on_the_event_loop_when_the_lock_is_free(
    sqlite_store: Store,
) -> None:
    batch = WriteBatch(sqlite_store, on_loop=True)
    loop_thread = threading.get_ident()

    def write(conn: Connection) -> int:
        _insert("on the loop")(conn)
        return threading.get_ident()

    assert await batch.write("create", write) == loop_thread
    assert _bodies(sqlite_store) == ["on the loop"]


async def test_a_batch_that_finds_the_write_lock_taken_waits_on_a_thread(
    sqlite_store: Store, tmp_path: Path
) -> None:
    # Another process's write (a second connection here) holds SQLite's lock:
    # the batch must not sleep on the event loop, which keeps serving.
    other = sqlite3.connect(tmp_path / "batch.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('other process')")
    batch = WriteBatch(sqlite_store, on_loop=True)
    loop_thread = threading.get_ident()

    def write(conn: Connection) -> int:
        _insert("after the other")(conn)
        return threading.get_ident()

    pending = asyncio.create_task(batch.write("create", write))
    ticks = 0
    for _ in range(20):  # the loop keeps running while the batch waits
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 20 and not pending.done()
    other.execute("COMMIT")
    other.close()

    assert await asyncio.wait_for(pending, 30) != loop_thread
    assert _bodies(sqlite_store) == ["other process", "after the other"]


async def test_a_batch_waits_on_a_thread_while_another_thread_writes(
    sqlite_store: Store,
) -> None:
    batch = WriteBatch(sqlite_store, on_loop=True)
    writing, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        with sqlite_store.write() as conn:
            _insert("other thread")(conn)
            writing.set()
            release.wait(30)

    holder = threading.Thread(target=other_thread)
    holder.start()
    assert writing.wait(10)
    pending = asyncio.create_task(batch.write("create", _insert("queued")))
    await asyncio.sleep(0.1)
    assert not pending.done()
    release.set()

    await asyncio.wait_for(pending, 30)
    holder.join(10)
    assert _bodies(sqlite_store) == ["other thread", "queued"]
