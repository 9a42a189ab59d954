"""The worker: claims trials from the store, runs them with the engine, keeps
their leases, and recovers trials whose worker was lost.

It only orchestrates — fetch, run, persist. Any number of workers may share a
database; each runs up to `worker_concurrency` trials at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, ParamSpec, TypeVar

from kallisti.domain.models import Guard, TrialStatus, stored_experiment
from kallisti.domain.safety import StopCause
from kallisti.engine import StopSignal, TrialEngine, TrialPlan
from kallisti.engine.plan import LeaseLost
from kallisti.notifications import TrialNotifier
from kallisti.safety import Admission, effective_max_duration
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store import claim as queries
from kallisti.store.batch import WriteBatch
from kallisti.store.db import WriteLockTaken
from kallisti.store.wakeups import STOP_REQUESTED, TRIAL_CREATED, WakeupListener
from kallisti.store.workers import WorkerBeat
from kallisti.worker.recorder import StoreRecorder
from kallisti.worker.scheduler import ScheduleFirer

__all__ = ["Worker", "plan_from_row"]

logger = logging.getLogger(__name__)

SHUTDOWN_REASON = "the worker is shutting down"

P = ParamSpec("P")
R = TypeVar("R")

# Called for each trial that reaches a terminal status (observers, notifications).
TrialClosedHook = Callable[[uuid.UUID, TrialStatus], Awaitable[None]]


def plan_from_row(row: Any, *, max_duration_cap: float | None = None) -> TrialPlan:
    """Build the plan from the experiment snapshot taken when the trial was created.

    The trial's guards replace the experiment's; the tightest duration limit of
    trial, experiment and service (`max_duration_cap`) holds.
    """
    # Read as stored: a step our rules refuse (a Kallisti import) fails when the
    # engine resolves it, with its reason in the record.
    experiment = stored_experiment(row.experiment_snapshot)
    stored = getattr(row, "guards", None)
    guards = experiment.guards if stored is None else _guards(stored)
    return TrialPlan(
        trial_id=uuid.UUID(row.id),
        experiment_name=experiment.name,
        pre_steps=tuple(experiment.pre_steps),
        steps=tuple(experiment.steps),
        post_steps=tuple(experiment.post_steps),
        parameters={**experiment.parameters, **row.parameters},
        dry_run=bool(row.dry_run),
        guards=tuple(guards or ()),
        max_duration_seconds=effective_max_duration(
            getattr(row, "max_duration_seconds", None),
            experiment.max_duration_seconds,
            max_duration_cap,
        ),
    )


def _guards(stored: list[dict[str, Any]]) -> list[Guard]:
    return [Guard.model_validate(guard) for guard in stored]


class _Claimed(NamedTuple):
    """What one claim took: trials to recover, trials to run, and whether
    it took as many as it had room for (then more may be waiting)."""

    orphans: list[Any]
    scheduled: list[Any]
    backlog: bool


@dataclass
class _Running:
    stop: StopSignal
    task: asyncio.Task[None] | None = None
    recorder: StoreRecorder | None = field(default=None)
    # `time.monotonic()` until which the lease surely holds: from the start of
    # the last claim or renewal that succeeded. A worker paused past it (a
    # stopped process, a frozen VM) must not start another step.
    held_until: float = float("inf")


class Worker:
    """Runs trials from the store until asked to shut down."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        engine: TrialEngine,
        *,
        worker_id: str | None = None,
        on_trial_closed: list[TrialClosedHook] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.worker_id = worker_id or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.on_trial_closed = list(on_trial_closed or [])
        # Schedules fire from every worker (exactly once per tick); completed
        # trials are notified in the background.
        self.schedule_firer = ScheduleFirer.from_settings(
            settings, store, on_fired=self.wake
        )
        self.notifier = TrialNotifier(settings, store)
        self.admission = Admission(settings, store, engine.modules)
        self.on_trial_closed.append(self.notifier.trial_closed)
        self._running: dict[str, _Running] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stop_check: asyncio.Event | None = None
        self._listener: WakeupListener | None = None
        # What the heartbeat reports (see `store.workers`).
        self._started_at: datetime = store.clock()
        self._last_claim_at: datetime | None = None
        self._last_close_at: datetime | None = None
        self._failing: dict[str, str] = {}
        self._in_flight: dict[object, tuple[str, float]] = {}
        self._writes = WriteBatch(store, self._store_call, on_loop=True)
        self._orphans_looked_at = float("-inf")
        # Whether Scheduled trials may be waiting that this worker had no room
        # to claim: a slot that frees then is filled at once; otherwise a claim
        # would find nothing (new trials wake the worker themselves).
        self._backlog = False

    @property
    def running_trial_ids(self) -> list[str]:
        return list(self._running)

    def wake(self) -> None:
        """Tell the worker new trials are waiting (safe from any thread)."""
        if self._loop is not None and self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def check_stop_requests(self) -> None:
        """Tell the worker a stop was asked for (safe from any thread)."""
        if self._loop is not None and self._stop_check is not None:
            self._loop.call_soon_threadsafe(self._stop_check.set)

    async def run(self, shutdown: asyncio.Event) -> None:
        """Claim and run trials until `shutdown` is set, then stop running trials
        (their post steps run) and return once every one is closed."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._stop_check = asyncio.Event()
        logger.info(
            "worker %s started (concurrency %d, lease %gs)",
            self.worker_id,
            self.settings.worker_concurrency,
            self.settings.lease_seconds,
            extra={"action": "worker_started"},
        )
        helpers = [
            asyncio.create_task(self._keep_leases()),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._watch_stop_requests()),
            asyncio.create_task(self.schedule_firer.run()),
        ]
        if self.store.dialect == "postgresql":
            self._listener = WakeupListener(
                self.settings.database_url,
                {TRIAL_CREATED: self._wakeup.set, STOP_REQUESTED: self._stop_check.set},
            )
            helpers.append(asyncio.create_task(self._listener.run()))
        try:
            woken = True
            while not shutdown.is_set():
                if woken or self._backlog or await self._work_waiting():
                    await self._fill_slots()
                woken = await self._sleep_until_work(shutdown)
        finally:
            await self._shutdown_running()
            await self.notifier.aclose()
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            try:
                await self.store.run(self.store.workers.stopped, self.worker_id)
            except Exception:
                logger.exception("recording the worker's stop failed")
            logger.info(
                "worker %s stopped", self.worker_id, extra={"action": "worker_stopped"}
            )

    async def _sleep_until_work(self, shutdown: asyncio.Event) -> bool:
        """Wait for a wake-up, the shutdown or the next poll; whether the
        worker was woken (told of new trials) rather than polling."""
        assert self._wakeup is not None
        waiters = [
            asyncio.create_task(self._wakeup.wait()),
            asyncio.create_task(shutdown.wait()),
        ]
        try:
            await asyncio.wait(
                waiters,
                timeout=self._idle_poll_seconds(),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        woken = self._wakeup.is_set()
        self._wakeup.clear()
        return woken

    def _idle_poll_seconds(self) -> float:
        # While notifications arrive, polling only catches what they cannot
        # tell: expired leases, and anything missed while reconnecting.
        if self._listener is not None and self._listener.listening:
            return self.settings.listen_poll_interval_seconds
        return self.settings.poll_interval_seconds

    async def _work_waiting(self) -> bool:
        """Whether a claim could find anything now: a poll asks this first,
        so an idle worker reads one row instead of opening a write
        transaction (on PostgreSQL, one statement every poll instead of
        five). When the database cannot tell, the claim runs and reports."""
        try:
            return await self._store_call("claim", self._work_waiting_now)
        except Exception:
            return True

    def _work_waiting_now(self) -> bool:
        with self.store.read_one_statement() as conn:
            return queries.work_waiting(conn, self.store.clock())

    async def _fill_slots(self) -> None:
        """Recover orphans first (their clean-up is overdue), then claim new
        trials: both in one transaction."""
        free = self.settings.worker_concurrency - len(self._running)
        if free <= 0:
            self._backlog = True
            return
        try:
            asked = time.monotonic()
            orphans, scheduled, self._backlog = await self._claim_soon(free)
        except Exception:
            logger.exception(
                "claiming trials failed; will retry", extra={"action": "claim"}
            )
            self._backlog = True
            return
        self._last_claim_at = self.store.clock()
        for rows, recovering in ((orphans, True), (scheduled, False)):
            for row in rows:
                self._start(row, recovering=recovering)
                self._running[row.id].held_until = asked + self.settings.lease_seconds

    async def _claim_soon(self, limit: int) -> _Claimed:
        """`_claim`, on SQLite on the event loop itself when the write lock is
        free (a claim takes about a millisecond; the hop to a thread and back
        adds to every trial's start); otherwise, or if that failed, on the
        store's threads, where the heartbeat sees a claim failing."""
        if self.store.dialect == "sqlite":
            try:
                return self._claim(limit, wait=False)
            except WriteLockTaken:
                pass
            except Exception:  # run again below, which reports it
                logger.debug("claiming on the event loop failed", exc_info=True)
        return await self._store_call("claim", self._claim, limit)

    def _claim(self, limit: int, *, wait: bool = True) -> _Claimed:
        """Orphans, then Scheduled trials, up to `limit` in all (`wait`: for
        the write lock, else raise `WriteLockTaken`)."""
        now = self.store.clock()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        # Leases expire with time, not with new trials: a burst of trials wakes
        # the worker for each, and orphans are looked for once per poll only.
        look_for_orphans = (
            time.monotonic() - self._orphans_looked_at
            >= self.settings.poll_interval_seconds
        )
        with self.store.write() if wait else self.store.write_now() as conn:
            orphans: list[Any] = []
            if look_for_orphans:
                self._orphans_looked_at = time.monotonic()
                orphans = list(
                    queries.claim_orphans(conn, self.worker_id, now, lease_until, limit)
                )
            limit -= len(orphans)
            if limit <= 0:
                return _Claimed(orphans, [], backlog=True)
            if not self.admission.may_claim(conn, now):
                return _Claimed(orphans, [], backlog=False)
            rows = queries.claim_scheduled(
                conn, self.worker_id, now, lease_until, limit
            )
            admitted = self.admission.admit(conn, list(rows), now)
            return _Claimed(orphans, admitted, backlog=len(rows) == limit)

    def _start(self, row: Any, *, recovering: bool) -> None:
        running = _Running(stop=StopSignal())
        self._running[row.id] = running
        if row.status == TrialStatus.STOP_INITIATED.value:
            running.stop.request(
                row.stop_reason or "stop requested", row.stop_cause or StopCause.USER
            )
        running.task = asyncio.create_task(self._execute(row, running, recovering))

    async def _execute(self, row: Any, running: _Running, recovering: bool) -> None:
        trial_id = uuid.UUID(row.id)
        log_extra = {"trial_id": row.id, "action": "recover" if recovering else "run"}
        recorder = StoreRecorder(
            self.store,
            row.id,
            self.worker_id,
            stop=running.stop,
            recovering=recovering,
            run=self._store_call,
            holds_lease=lambda: time.monotonic() < running.held_until,
            writes=self._writes,
        )
        running.recorder = recorder
        status: TrialStatus | None = None
        try:
            plan = plan_from_row(
                row, max_duration_cap=self.settings.max_trial_duration_seconds
            )
            if recovering:
                logger.warning("recovering trial lost by its worker", extra=log_extra)
                status = await self.engine.recover(
                    plan,
                    row.trial_record,
                    recorder,
                    f"its lease expired at {row.lost_lease_expires_at.isoformat()} "
                    f"(held by {row.lost_worker_id or 'unknown'})",
                )
            else:
                logger.info("running trial", extra=log_extra)
                status = await self.engine.run(plan, recorder, running.stop)
        except (asyncio.CancelledError, LeaseLost):
            # Only a lost lease cancels a trial: its new holder cleans up.
            logger.warning("trial cancelled: lease lost", extra=log_extra)
        except Exception:
            logger.exception("trial crashed in the engine", extra=log_extra)
        finally:
            self._running.pop(row.id, None)
            if self._backlog:
                self.wake()
        if status is not None and recorder.closed:
            self._last_close_at = self.store.clock()
            logger.info("trial closed: %s", status.value, extra=log_extra)
            for hook in self.on_trial_closed:
                try:
                    await hook(trial_id, status)
                except Exception:
                    logger.exception("trial-closed hook failed", extra=log_extra)

    async def _keep_leases(self) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            ids = list(self._running)
            if not ids:
                continue
            try:
                asked = time.monotonic()
                held = await self._store_call("lease", self._renew, ids)
            except Exception:
                logger.exception(
                    "renewing leases failed; will retry", extra={"action": "lease"}
                )
                continue
            for trial_id in held:
                if (renewed := self._running.get(trial_id)) is not None:
                    renewed.held_until = asked + self.settings.lease_seconds
            for trial_id in set(ids) - held:
                running = self._running.get(trial_id)
                if (
                    running is not None
                    and running.task is not None
                    and (running.recorder is None or not running.recorder.closing)
                ):
                    logger.error(
                        "lease lost; abandoning the trial to its new holder",
                        extra={"trial_id": trial_id, "action": "lease"},
                    )
                    running.task.cancel()

    def _renew(self, ids: list[str]) -> set[str]:
        lease_until = self.store.clock() + timedelta(
            seconds=self.settings.lease_seconds
        )
        with self.store.write() as conn:
            return queries.renew_leases(conn, self.worker_id, ids, lease_until)

    async def _watch_stop_requests(self) -> None:
        assert self._stop_check is not None
        while True:
            try:
                await asyncio.wait_for(
                    self._stop_check.wait(), self.settings.stop_check_interval_seconds
                )
            except TimeoutError:
                pass
            self._stop_check.clear()
            if not self._running:
                continue
            try:
                requests = await self._store_call("stop", self._stop_requests)
            except Exception:
                logger.exception(
                    "reading stop requests failed", extra={"action": "stop"}
                )
                continue
            for trial_id, reason, cause in requests:
                running = self._running.get(trial_id)
                if running is not None:
                    running.stop.request(reason, cause)

    def _stop_requests(self) -> list[tuple[str, str, str]]:
        with self.store.read() as conn:
            return queries.stop_requests(conn, self.worker_id)

    async def _store_call(
        self, work: str, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a store call on the store's threads, noting for the heartbeat
        whether `work` (claim, lease, close, ...) fails or hangs."""
        token = object()
        self._in_flight[token] = (work, time.monotonic())
        try:
            result = await self.store.run(function, *args, **kwargs)
        except Exception as err:
            self._failing[work] = _one_line(err)
            raise
        finally:
            del self._in_flight[token]
        self._failing.pop(work, None)
        return result

    async def _heartbeat(self) -> None:
        """Write this worker's row every third of a lease (`/health` reads it)."""
        interval = self.settings.lease_seconds / 3
        while True:
            failing = dict(self._failing)
            now = time.monotonic()
            for work, started in self._in_flight.values():
                if now - started > self.settings.lease_seconds:
                    failing[work] = (
                        f"no answer from the database for {now - started:.0f} seconds"
                    )
            beat = WorkerBeat(
                worker_id=self.worker_id,
                started_at=self._started_at,
                last_claim_at=self._last_claim_at,
                last_close_at=self._last_close_at,
                failing=failing,
            )
            try:
                await self.store.run(self.store.workers.beat, beat)
            except Exception:
                logger.exception(
                    "writing the heartbeat failed; will retry",
                    extra={"action": "heartbeat"},
                )
            await asyncio.sleep(interval)

    async def _shutdown_running(self) -> None:
        for running in self._running.values():
            running.stop.request(SHUTDOWN_REASON, StopCause.SHUTDOWN)
        tasks = [r.task for r in self._running.values() if r.task is not None]
        if tasks:
            logger.info(
                "stopping %d running trial(s); their post steps run first",
                len(tasks),
                extra={"action": "worker_stopping"},
            )
            await asyncio.gather(*tasks, return_exceptions=True)


def _one_line(err: BaseException) -> str:
    # The first line only: a database error's later lines quote the statement's
    # parameters, which may hold a trial record.
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")
