"""Safety figures: guard trip → step cancelled, halt → every trial Stopped,
guard overhead. Performance is measured here, never in timed tests.

    .venv/bin/python -m bench.safety_bench                 # every scenario
    .venv/bin/python -m bench.safety_bench halt            # one of them

- `guard_trip`: a failing guard probe's answer → the running step cancelled
  (its log's last line), 10 runs; target p50 ≤ 1 s.
- `halt`: `halt()` on PostgreSQL → every trial Stopped, 2 `kallisti worker`
  processes running 20 trials each; target ≤ 2 s.
- `guard_overhead`: a 100-step trial (`cm.wait 0.05` each) with a 1 s HTTP
  guard against the same trial without; target ≤ 5 %.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.models import (
    ExperimentCreate,
    Guard,
    Step,
    TrialCreate,
    TrialStatus,
)
from kallisti.domain.record import TrialRecord
from kallisti.engine import StopSignal, TrialEngine, TrialPlan
from kallisti.modules import ModuleRegistry
from kallisti.store import Store

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Health:
    """A loopback HTTP server whose status the bench sets; it notes when it
    last answered with a failure."""

    def __init__(self) -> None:
        self.status = 200
        self.failed_at: float | None = None
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = health.status
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                if status >= 400 and health.failed_at is None:
                    health.failed_at = time.time()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/health"


class _Recorder:
    def __init__(self) -> None:
        self.record: dict[str, Any] = {}

    def changed(self, record: TrialRecord) -> None:
        pass

    async def close(self, status: TrialStatus, record: TrialRecord) -> None:
        self.record = record.to_json()


def _engine() -> TrialEngine:
    credentials = CredentialRegistry.discover(
        CredentialContext(service_account_token_path="/nonexistent", environ=os.environ)
    )
    return TrialEngine(ModuleRegistry.discover(), credentials)


def _plan(steps: list[Step], guards: list[Guard]) -> TrialPlan:
    return TrialPlan(
        trial_id=uuid.uuid4(),
        experiment_name="bench",
        pre_steps=(),
        steps=tuple(steps),
        post_steps=(),
        guards=tuple(guards),
    )


def _line_time(line: str) -> float:
    stamp = line[1 : line.index("Z - ")]
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def guard_trip(runs: int = 10) -> None:
    health, engine, delays = _Health(), _engine(), []
    for _ in range(runs):
        health.status, health.failed_at = 200, None
        guard = Guard(
            step="Health",
            do="cm.http_probe",
            where={"url": health.url},
            interval_seconds=0.2,
        )
        wait = Step(do="cm.wait", where={"time_in_seconds": 600})
        recorder = _Recorder()

        async def trial() -> None:
            task = asyncio.create_task(
                engine.run(_plan([wait], [guard]), recorder, StopSignal())  # noqa: B023
            )
            await asyncio.sleep(0.5)
            health.status = 503
            await task

        asyncio.run(trial())
        assert health.failed_at is not None
        cancelled = _line_time(recorder.record["steps"][0]["logs"][-1])
        delays.append(cancelled - health.failed_at)
    _report(
        f"guard_trip: p50 {statistics.median(delays) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms over {runs} runs (target p50 ≤ 1000 ms)"
    )


def guard_overhead(steps: int = 100) -> None:
    health, engine = _Health(), _engine()
    step_list = [Step(do="cm.wait", where={"time_in_seconds": 0.05})] * steps
    guard = Guard(step="Health", do="cm.http_probe", where={"url": health.url})
    guard = guard.model_copy(update={"interval_seconds": 1.0})

    def timed(guards: list[Guard]) -> float:
        started = time.perf_counter()
        asyncio.run(engine.run(_plan(step_list, guards), _Recorder(), StopSignal()))
        return time.perf_counter() - started

    plain, guarded = [], []
    for _ in range(3):  # alternate, keep the best of each
        plain.append(timed([]))
        guarded.append(timed([guard]))
    overhead = (min(guarded) - min(plain)) / min(plain) * 100
    _report(
        f"guard_overhead: {min(plain):.3f} s without, {min(guarded):.3f} s with a "
        f"1 s guard: {overhead:+.1f} % (target ≤ 5 %)"
    )


def halt(workers: int = 2, per_worker: int = 20) -> None:
    import psycopg

    name = f"kallisti_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    store = Store(url)
    store.migrate()
    env = {
        **os.environ,
        "KALLISTI_DATABASE_URL": url,
        "KALLISTI_WORKER_CONCURRENCY": str(per_worker),
        "KALLISTI_POLL_INTERVAL_SECONDS": "0.1",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "kallisti", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        experiment = store.experiments.create(
            ExperimentCreate.model_validate(
                {
                    "name": "halt bench",
                    "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 600}}],
                }
            ),
            created_by="bench",
        )
        trials = [
            store.trials.create(
                TrialCreate(experiment=experiment.id),
                initiated_by="bench",
                initiated_from="api",
            )
            for _ in range(workers * per_worker)
        ]
        while not all(store.trials.get(t.id).trial_record.get("steps") for t in trials):
            time.sleep(0.2)
        switch = store.safety.halt("bench", by="bench")
        ids = [str(t.id) for t in trials]
        while _count_stopped(store, ids) < len(ids):
            time.sleep(0.05)
        assert switch.at is not None
        took = (_last_completed(store, ids) - switch.at).total_seconds()
        _report(
            f"halt: {len(trials)} trials on {workers} workers all Stopped "
            f"{took:.2f} s after the halt (target ≤ 2 s)"
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        store.close()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _count_stopped(store: Store, ids: list[str]) -> int:
    import sqlalchemy as sa

    from kallisti.store.tables import trials

    with store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(trials)
                .where(trials.c.id.in_(ids))
                .where(trials.c.status == TrialStatus.STOPPED.value)
            ).scalar_one()
        )


def _last_completed(store: Store, ids: list[str]) -> datetime:
    import sqlalchemy as sa

    from kallisti.store.tables import trials

    with store.read() as conn:
        last: datetime = conn.execute(
            sa.select(sa.func.max(trials.c.completed_at)).where(trials.c.id.in_(ids))
        ).scalar_one()
    return last


SCENARIOS = {"guard_trip": guard_trip, "halt": halt, "guard_overhead": guard_overhead}


def main() -> None:
    chosen = sys.argv[1:] or list(SCENARIOS)
    for scenario in chosen:
        SCENARIOS[scenario]()


if __name__ == "__main__":
    main()
