"""Committing the small writes of many trials together.

SQLite takes one writer at a time: a burst of trials queues hundreds of small
transactions (each trial's creation, record writes and close) on that lock,
and each waits for all before it. Here the writes that arrive while one transaction
commits share the next one. Each caller still returns only once its own write
is committed, or raises: what a recorder guarantees is unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from kallisti.store.audit import audit_appended_together
from kallisti.store.db import WriteLockTaken
from kallisti.store.store import Store

__all__ = ["WriteBatch"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Write = Callable[[Connection], Any]
# Each write runs in a copy of its caller's context: what the caller set there
# (the API call's actor and request id, which the audit trail records) is what
# its write sees, whichever caller's task drains the batch.
_Bound = tuple[contextvars.Context, Write]
_Queued = tuple[str, _Bound, "asyncio.Future[Any]"]


class WriteBatch:
    """Runs queued writes, each a function of the connection, in shared
    transactions on one background task.

    A write that raises fails its batch: the batch is then run again one write
    per transaction, so only the failing one reports the error.

    `on_loop`: on SQLite, commit a batch on the event loop itself when the
    write lock is free (a batch of small writes takes well under a
    millisecond there, less than the hop to a thread and back costs under
    load); a batch that finds the lock taken goes to a thread, which waits,
    and so does one that failed, to fail the usual way (through `run`, which
    the worker watches).
    """

    def __init__(
        self,
        store: Store,
        run: Callable[..., Awaitable[Any]] | None = None,
        *,
        on_loop: bool = False,
    ) -> None:
        self._store = store
        self._on_loop = on_loop and store.dialect == "sqlite"
        # `run(work, function, *args)`, as the worker's store calls.
        self._run = run or (lambda _work, function, *args: store.run(function, *args))
        self._queue: list[_Queued] = []
        self._drainer: asyncio.Task[None] | None = None

    async def write(self, work: str, write: Callable[[Connection], T]) -> T:
        """Commit `write(conn)` and return its result, or raise what it raised;
        `work` names it for the worker's heartbeat (record, close)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, (contextvars.copy_context(), write), future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            work = batch[0][0]
            try:
                results = await self._commit_batch(work, [w for _, w, _ in batch])
            except Exception as err:
                if len(batch) == 1:
                    _settle(batch[0][2], error=err)
                else:
                    await self._one_by_one(batch)
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                _settle(future, result=result)

    async def _commit_batch(self, work: str, writes: list[_Bound]) -> list[Any]:
        if self._on_loop:
            try:
                return self._commit(writes, wait=False)
            except WriteLockTaken:
                pass  # another thread or process is writing: wait on a thread
            except Exception:  # run again below, which reports it
                logger.debug("a batch failed on the event loop", exc_info=True)
        results: list[Any] = await self._run(work, self._commit, writes)
        return results

    async def _one_by_one(self, batch: list[_Queued]) -> None:
        for work, write, future in batch:
            try:
                (result,) = await self._commit_batch(work, [write])
            except Exception as err:
                _settle(future, error=err)
            else:
                _settle(future, result=result)

    def _commit(self, writes: list[_Bound], *, wait: bool = True) -> list[Any]:
        transaction = self._store.write() if wait else self._store.write_now()
        with transaction as conn, audit_appended_together(conn):
            return [context.run(write, conn) for context, write in writes]


def _settle(
    future: asyncio.Future[Any],
    *,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    # A caller cancelled meanwhile no longer waits; its write stands.
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
