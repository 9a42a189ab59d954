"""One hostile experiment must never hurt the service: blocking driver calls
that never return, a worker that cannot reach its database, a lost worker's
trial. Each test runs its own service on its own database (SQLite and
PostgreSQL), so what it wedges or locks is its own."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from hostile_targets import BlackHole
from kallisti.domain.models import ExperimentCreate, TrialCreate
from kallisti.domain.record import result_lines
from kallisti.service import build_engine
from kallisti.store import Store
from kallisti.store import claim as queries
from kallisti.store.tables import trials
from kallisti.worker import Worker
from support import (
    ProbeTarget,
    ServiceThread,
    create_postgres_database,
    drop_postgres_database,
    service_settings,
    wait_for_trial,
)


@pytest.fixture
def own_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/kallisti.db"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole().start()
    yield hole
    hole.stop()


def _until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _start_trial(api: httpx.Client, experiment: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/experiment", json=experiment)
    assert response.status_code == 201, response.text
    trial = api.post("/api/v1/trial", json={"experiment": response.json()["id"]})
    assert trial.status_code == 201, trial.text
    return dict(trial.json())


def test_calls_that_never_answer_leave_the_worker_claiming_stopping_and_closing(
    own_database: str,
    black_hole: BlackHole,
    probe_target: ProbeTarget,
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text("not-a-real-token")
    hostile = {
        "name": "hostile: a cluster that accepts and never answers",
        "steps": [
            {
                "do": "k8s.list_pods",
                "timeout_seconds": 1,
                "where": {
                    "k8s_api_host": black_hole.url,
                    "credentials": {"type": "TOKEN_FILE", "token_path": str(token)},
                    "request_timeout": 100_000,
                },
            }
        ],
    }
    settings = service_settings(own_database, worker_concurrency=60)
    service = ServiceThread(settings).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as api:
            hostile_ids = [_start_trial(api, hostile)["id"] for _ in range(48)]
            # Proof that hostile calls hold driver threads; how many get in before
            # their 1 s time-outs depends on the machine, so ask for half the pool.
            _until(lambda: black_hole.accepted >= 16, 60, "the hostile calls")
            long_running = _start_trial(
                api,
                {
                    "name": "long wait",
                    "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 300}}],
                },
            )
            normal = _start_trial(
                api,
                {
                    "name": "a probe after the hostile ones",
                    "steps": [
                        {"do": "cm.http_probe", "where": {"url": probe_target.url}}
                    ],
                },
            )

            assert (
                wait_for_trial(api, normal["id"], timeout=30)["status"] == "Succeeded"
            )
            for trial_id in hostile_ids:
                ended = wait_for_trial(api, trial_id, timeout=30)
                assert ended["status"] == "Failed"
                assert "did not finish within 1 seconds" in str(ended["trial_record"])
            wait_for_trial(
                api, long_running["id"], until=lambda t: t["status"] == "In Progress"
            )
            stop = api.put(f"/api/v1/trial/{long_running['id']}/stop")
            assert stop.status_code == 200
            assert wait_for_trial(api, long_running["id"])["status"] == "Stopped"
            health = api.get("/api/v1/health")
            assert (health.status_code, health.json()) == (200, {"status": "up"})
    finally:
        service.stop()


def test_health_is_degraded_while_the_worker_cannot_write_and_up_again_after(
    backend: str, own_database: str
) -> None:
    settings = service_settings(own_database, lease_seconds=1.0)
    service = ServiceThread(settings).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as api:
            _until(
                lambda: api.get("/api/v1/health").status_code == 200, 20, "health up"
            )
            with _writes_blocked(backend, own_database):
                # A trial to claim: the worker tries, and cannot.
                service.service.worker.wake()
                degraded = _until(
                    lambda: (r := api.get("/api/v1/health")).status_code == 503 and r,
                    20,
                    "health degraded",
                )
                body = degraded.json()
                assert body["status"] == "degraded"
                assert body["problems"][0]["worker"] == service.service.worker.worker_id
            _until(
                lambda: api.get("/api/v1/health").json() == {"status": "up"},
                40,
                "health up again",
            )
    finally:
        service.stop()


class _writes_blocked:
    """Hold the database's write lock (SQLite) or the tables' (PostgreSQL)."""

    def __init__(self, backend: str, url: str) -> None:
        self._backend, self._url = backend, url
        self._connection: Any = None

    def __enter__(self) -> None:
        if self._backend == "sqlite":
            self._connection = sqlite3.connect(
                self._url.removeprefix("sqlite:///"), isolation_level=None
            )
            self._connection.execute("BEGIN IMMEDIATE")
        else:
            self._connection = psycopg.connect(
                self._url.replace("postgresql+psycopg", "postgresql")
            )
            self._connection.execute("LOCK TABLE trials, workers IN EXCLUSIVE MODE")

    def __exit__(self, *_: object) -> None:
        self._connection.rollback()
        self._connection.close()


def test_a_lost_workers_trial_names_the_lost_worker_and_its_real_expiry(
    own_database: str, probe_target: ProbeTarget
) -> None:
    store = Store(own_database)
    store.migrate()
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": "lost",
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 1}}],
                "post_steps": [
                    {"do": "cm.http_request", "where": {"url": probe_target.url}}
                ],
            }
        ),
        created_by="test",
    )
    trial = store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="t", initiated_from="t"
    )
    expired = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with store.write() as conn:
        queries.claim_scheduled(
            conn, "lost-worker-7", expired - timedelta(seconds=30), expired, 10
        )
    store.close()
    service = ServiceThread(service_settings(own_database)).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as api:
            ended = wait_for_trial(api, str(trial.id))
    finally:
        service.stop()

    lost_line = next(
        line for line in result_lines(ended["trial_record"]) if "lost" in line
    )
    assert "held by lost-worker-7" in lost_line
    assert f"expired at {expired.isoformat()}" in lost_line
    assert service.service.worker.worker_id not in lost_line
    assert ended["status"] == "Failed"
    assert uuid.UUID(ended["id"]) == trial.id


async def test_a_stop_accepted_during_the_last_post_step_ends_the_trial_stopped(
    own_database: str,
) -> None:
    # A worker that looks for stop requests rarely (as a standalone worker
    # may): the stop arrives while the last post step runs and is only met
    # when the trial closes.
    store = Store(own_database)
    store.migrate()
    settings = service_settings(
        own_database, stop_check_interval_seconds=600, run_worker=False
    )
    worker = Worker(settings, store, build_engine(settings))
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": "stopped at the end",
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
                "post_steps": [{"do": "cm.wait", "where": {"time_in_seconds": 1}}],
            }
        ),
        created_by="test",
    )
    trial = store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="t", initiated_from="t"
    )
    shutdown = asyncio.Event()
    running = asyncio.create_task(worker.run(shutdown))
    try:

        def in_post_step() -> bool:
            with store.read() as conn:
                record = conn.execute(
                    sa.select(trials.c.trial_record).where(trials.c.id == str(trial.id))
                ).scalar_one()
            return bool(record.get("post_steps"))

        await _until_async(in_post_step, 20, "the post step")
        stopping = store.trials.request_stop(trial.id, "tester")
        assert stopping.status.value == "Stop Initiated"

        ended = await _until_async(
            lambda: (
                (t := store.trials.get(trial.id)).status.value
                in {"Stopped", "Succeeded"}
                and t
            ),
            20,
            "the end of the trial",
        )
    finally:
        shutdown.set()
        await running
        store.close()

    assert ended.status.value == "Stopped"
    assert result_lines(ended.trial_record)[-1].endswith(
        "Trial Stopped. Reason: stop requested by tester."
    )


async def _until_async(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await asyncio.to_thread(condition)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
