"""Moving SQLite's write-ahead log into the database file on a thread of its own.

By default the commit that fills the log past 1,000 pages copies the log into
the database and syncs the file: milliseconds inside one unlucky write, which
for the API's writes (made on the event loop, see `WriteBatch`) stall every
request. Kallisti's connections turn that off (`wal_autocheckpoint=0`) and
this thread checkpoints instead, shortly after writes:

1. a PASSIVE checkpoint copies what it can while writers go on;
2. if the log is past 1,000 pages, a second one runs holding this process's
   write lock, so no write adds to the log meanwhile (in-process writers wait,
   on their threads): it copies the few pages written since the first, and
   the next write starts the log from its beginning again.

A process that stops leaves the log to the next one, or to SQLite, which
checkpoints when the last connection closes.
"""

from __future__ import annotations

import logging
import threading
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Engine

from kallisti.store.db import write_lock

__all__ = ["LONG_LOG_PAGES", "WalCheckpointer"]

logger = logging.getLogger(__name__)

LONG_LOG_PAGES = 1000
"""SQLite's own threshold for a checkpoint."""


class WalCheckpointer:
    """Checkpoints `engine`'s SQLite log `delay` seconds after a commit (at
    most once per `delay`), until `close` or until the engine is gone."""

    def __init__(self, engine: Engine, delay: float = 0.1) -> None:
        # Held weakly: a store dropped without `close` (tests) frees its engine
        # and connections, and this thread ends with it.
        self._engine = weakref.ref(engine)
        self._delay = delay
        self._written = threading.Event()
        self._closed = threading.Event()
        event.listen(engine, "commit", self._on_commit)
        weakref.finalize(engine, self._stop)
        self._thread = threading.Thread(
            target=self._run, name="kallisti-wal-checkpoint", daemon=True
        )
        self._thread.start()

    def _on_commit(self, _connection: object) -> None:
        self._written.set()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._written.wait()
            if self._closed.wait(self._delay):
                break
            self._written.clear()
            self.checkpoint()

    def checkpoint(self) -> None:
        """Copy the log into the database; finish under the write lock when
        the log is long."""
        engine = self._engine()
        if engine is None:
            return
        try:
            if _checkpoint(engine) >= LONG_LOG_PAGES:
                with write_lock(engine):
                    _checkpoint(engine)
        except Exception:  # retried after the next write
            logger.warning("SQLite checkpoint failed", exc_info=True)

    def _stop(self) -> None:
        self._closed.set()
        self._written.set()

    def close(self) -> None:
        """Stop after one last checkpoint."""
        if self._closed.is_set():
            return
        self._stop()
        self._thread.join(timeout=10)
        engine = self._engine()
        if engine is not None:
            event.remove(engine, "commit", self._on_commit)
            self.checkpoint()


def _checkpoint(engine: Engine) -> int:
    """A PASSIVE checkpoint; the pages the log held when it began."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _busy, in_log, _copied = cursor.fetchone() or (0, 0, 0)
        return int(in_log)
    finally:
        connection.close()
