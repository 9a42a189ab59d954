"""Writing a running trial's record to the store as it grows.

Writes happen in order on one background task; when lines come faster than the
database takes them, the newest record replaces the pending one (a reader sees
progress live, never a record older than one it already saw). Closing writes
the complete record and the terminal status in one UPDATE, queued after any
write in flight, so no reader ever sees a terminal status with a partial record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from kallisti.domain.faults import FaultEntry, FaultState
from kallisti.domain.models import TrialStatus
from kallisti.domain.record import TrialRecord
from kallisti.domain.safety import StopCause
from kallisti.engine.plan import StopSignal
from kallisti.store import Store
from kallisti.store import claim as queries
from kallisti.store.batch import WriteBatch

__all__ = ["StoreRecorder"]

logger = logging.getLogger(__name__)

_CLOSE_ATTEMPTS = 8
_LIVE_WRITE_DELAY_SECONDS = 0.01


class StoreRecorder:
    """The engine's `TrialRecorder` for one trial held by one worker."""

    def __init__(
        self,
        store: Store,
        trial_id: str,
        worker_id: str,
        *,
        stop: StopSignal | None = None,
        recovering: bool = False,
        run: Callable[..., Awaitable[Any]] | None = None,
        holds_lease: Callable[[], bool] = lambda: True,
        writes: WriteBatch | None = None,
    ) -> None:
        self.holds_lease = holds_lease
        """Whether the lease surely still holds (the engine asks before each
        step: a worker paused past its lease leaves the trial to its new
        holder)."""
        self._store = store
        # How store calls run: `run(work, function, *args)` (the worker notes
        # failures for its heartbeat); by default on the store's threads.
        self._run = run or (lambda _work, function, *args: store.run(function, *args))
        # Record writes and the close share transactions with other trials'.
        self._writes = writes or WriteBatch(store, self._run, on_loop=True)
        self._trial_id = trial_id
        self._worker_id = worker_id
        self._stop = stop
        self._recovering = recovering
        self._pending: TrialRecord | None = None
        self._writer: asyncio.Task[None] | None = None
        self.closing = False
        self.closed = False
        self._may_have_faults = recovering

    def changed(self, record: TrialRecord) -> None:
        if self.closing:  # the close writes the whole record itself
            return
        self._pending = record
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending is not None:
            if not self._pending.steps_in("post_steps"):
                # Before the post steps nothing in the record decides what a
                # recovery does: a short wait lets a quick trial close with its
                # whole record in one write, and a burst's writes share fewer
                # transactions. A finished post step is written at once, so a
                # recovery does not run it again.
                await asyncio.sleep(_LIVE_WRITE_DELAY_SECONDS)
                if self._pending is None:  # closed meanwhile
                    return
            data = self._pending.to_json()
            self._pending = None
            try:
                held = await self._writes.write("record", self._saver(data))
            except Exception:
                # The close rewrites the whole record: a missed live write
                # delays what a reader sees, it loses nothing.
                logger.exception(
                    "writing the trial record failed",
                    extra={"trial_id": self._trial_id, "action": "record"},
                )
                continue
            if not held:
                logger.warning(
                    "record not written: this worker no longer holds the trial",
                    extra={"trial_id": self._trial_id, "action": "record"},
                )

    async def record_fault(
        self, step_name: str, target: str, change: str, undo: dict[str, Any]
    ) -> None:
        """Commit a fault ledger entry (before its action acts)."""
        self._may_have_faults = True
        await self._run(
            "ledger",
            lambda: self._store.ledger.record(
                self._trial_id,
                step_name=step_name,
                target=target,
                change=change,
                undo=undo,
            ),
        )

    async def faults(self) -> list[FaultEntry]:
        """The trial's ledger entries."""
        if not self._may_have_faults:
            # A trial run from the start has only the entries it recorded
            # (a recovered one may have its lost worker's).
            return []
        entries: list[FaultEntry] = await self._run(
            "ledger", self._store.ledger.entries, self._trial_id
        )
        return entries

    async def faults_settled(
        self,
        states: Mapping[str, FaultState],
        residual: Sequence[Mapping[str, Any]],
    ) -> None:
        """Write the ledger check's outcome and the trial's `residual_faults`."""
        await self._run(
            "ledger",
            lambda: self._store.ledger.set_states(
                self._trial_id, states, residual=residual
            ),
        )

    def _saver(self, data: dict[str, Any]) -> Callable[[Connection], bool]:
        return lambda conn: queries.save_record(
            conn, self._trial_id, self._worker_id, data
        )

    async def close(
        self, status: TrialStatus, record: TrialRecord
    ) -> TrialStatus | None:
        """Close the trial; a stop accepted while it ended makes it `Stopped`
        (returned then, else None)."""
        given = status
        self.closing = True
        self._pending = None
        # No need to wait for a record write in flight: writes commit in the
        # order they are queued, and one landing after the close matches no
        # running trial and changes nothing.
        data = record.to_json()
        for attempt in range(_CLOSE_ATTEMPTS):
            try:
                self.closed = await self._writes.write(
                    "close", self._closer(status, data)
                )
                if not self.closed and status is not TrialStatus.STOPPED:
                    reason = await self._run("close", self._accepted_stop)
                    if reason is not None:
                        record.result(f"Trial Stopped. Reason: {reason}.", "ERROR")
                        status, data = TrialStatus.STOPPED, record.to_json()
                        continue
                break
            except Exception:
                logger.exception(
                    "closing the trial failed (attempt %d)",
                    attempt + 1,
                    extra={"trial_id": self._trial_id, "action": "close"},
                )
                await asyncio.sleep(min(2**attempt * 0.1, 5.0))
        if not self.closed:
            logger.error(
                "trial not closed: its lease was lost or the store is unreachable; "
                "another worker will recover it",
                extra={"trial_id": self._trial_id, "action": "close"},
            )
        return None if status is given else status

    def _accepted_stop(self) -> str | None:
        with self._store.read() as conn:
            return queries.accepted_stop(conn, self._trial_id, self._worker_id)

    def _stop_cause(self, status: TrialStatus) -> str | None:
        if self._recovering:
            return StopCause.WORKER_LOST.value
        if status is TrialStatus.STOPPED and self._stop is not None:
            return self._stop.cause or StopCause.USER.value
        return None

    def _closer(
        self, status: TrialStatus, data: dict[str, Any]
    ) -> Callable[[Connection], bool]:
        stop_cause = self._stop_cause(status)
        return lambda conn: queries.close_trial(
            conn,
            self._trial_id,
            self._worker_id,
            status,
            data,
            self._store.clock(),
            stop_cause=stop_cause,
        )
