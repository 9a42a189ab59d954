"""SQLite's write-ahead log is checkpointed on a thread of the store's own,
never inside a commit: after writes the pages reach the database file, and a
long log starts again from its beginning instead of growing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from kallisti.store import Store
from kallisti.store.checkpoint import LONG_LOG_PAGES

PAGE = 4096


def _store(tmp_path: Path) -> tuple[Store, Path]:
    database = tmp_path / "wal.db"
    store = Store(f"sqlite:///{database}")
    with store.write() as conn:
        conn.execute(sa.text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
    return store, database


def _write(store: Store, transactions: int) -> None:
    for _ in range(transactions):
        with store.write() as conn:
            conn.execute(
                sa.text("INSERT INTO blobs (body) VALUES (:body)"),
                {"body": os.urandom(PAGE)},
            )


def _wait_for_checkpoint(database: Path, rows: int) -> None:
    """Until the database file holds `rows` blobs' pages: only a checkpoint
    copies them there from the log."""
    deadline = time.monotonic() + 30
    while database.stat().st_size < rows * PAGE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert database.stat().st_size >= rows * PAGE


def test_commits_never_checkpoint_the_thread_does_soon_after(tmp_path: Path) -> None:
    store, database = _store(tmp_path)
    try:
        _write(store, 50)
        _wait_for_checkpoint(database, 50)
    finally:
        store.close()


def test_a_long_log_starts_again_from_its_beginning(tmp_path: Path) -> None:
    store, database = _store(tmp_path)
    wal = Path(f"{database}-wal")
    try:
        for round_ in range(1, 4):
            _write(store, LONG_LOG_PAGES)  # some 2,000 pages: a blob's and a leaf
            _wait_for_checkpoint(database, round_ * LONG_LOG_PAGES)
        # Had the log not started again, it would hold all three rounds.
        assert wal.stat().st_size < 2 * LONG_LOG_PAGES * 2 * PAGE
    finally:
        store.close()
    with sa.create_engine(f"sqlite:///{database}").connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM blobs")).scalar_one() == (
            3 * LONG_LOG_PAGES
        )
