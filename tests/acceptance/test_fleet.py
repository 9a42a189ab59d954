"""A fleet on PostgreSQL as operators run it: `kallisti serve --no-worker` and
several `kallisti worker` processes sharing one database.

Workers wake on LISTEN/NOTIFY, not on polling; an idle worker's polls cost
the database one read each; trials created through the API process spread
over the workers, each runs once, and a SIGKILLed worker's trials are
recovered by the others within the lease.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from kallisti.domain.record import result_lines
from pg_wire import StatementCounter
from support import (
    TERMINAL,
    ProbeTarget,
    create_postgres_database,
    drop_postgres_database,
    end_processes,
)

LEASE_SECONDS = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Fleet:
    """An API process and worker processes; ends exactly those it started."""

    def __init__(self, database_url: str, logs: Path, **environment: str) -> None:
        self.database_url = database_url
        self.logs = logs
        self.environment = {
            **os.environ,
            "KALLISTI_DATABASE_URL": database_url,
            "KALLISTI_LEASE_SECONDS": str(LEASE_SECONDS),
            **environment,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.url = ""

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "kallisti", *args],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def start_api(self) -> None:
        port = _free_port()
        api = self._start("api", "serve", "--no-worker", "--port", str(port))
        self.url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert api.poll() is None, "the API process exited"
            try:
                return httpx.get(f"{self.url}/api/v1/info", timeout=1).is_success
            except httpx.HTTPError:
                return False

        _wait_until(answers, 60, "the API process")

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = self._start(f"worker-{len(self.workers)}", "worker")
        self.workers.append(worker)
        return worker

    def trials_run_by(self, worker: subprocess.Popen[bytes]) -> int:
        index = self.workers.index(worker)
        return (self.logs / f"worker-{index}.log").read_text().count("running trial")

    def stop(self) -> None:
        end_processes(self.processes)


@pytest.fixture
def database_url() -> Iterator[str]:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def fleet(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    started = Fleet(database_url, tmp_path, KALLISTI_WORKER_CONCURRENCY="8")
    yield started
    started.stop()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _experiment(api: httpx.Client, steps: list[dict[str, Any]]) -> str:
    answer = api.post("/api/v1/experiment", json={"name": "fleet", "steps": steps})
    return str(answer.raise_for_status().json()["id"])


def _status(api: httpx.Client, trial_id: str) -> str:
    return str(api.get(f"/api/v1/trial/{trial_id}").raise_for_status().json()["status"])


def test_idle_workers_claim_new_trials_when_notified_not_when_polling(
    database_url: str, tmp_path: Path
) -> None:
    # Polls five minutes apart: only a notification can start these trials
    # within the test's bound.
    fleet = Fleet(
        database_url,
        tmp_path,
        KALLISTI_POLL_INTERVAL_SECONDS="300",
        KALLISTI_LISTEN_POLL_INTERVAL_SECONDS="300",
    )
    try:
        fleet.start_api()
        fleet.start_worker()
        fleet.start_worker()
        with httpx.Client(base_url=fleet.url, timeout=30) as api:
            experiment = _experiment(
                api, [{"do": "cm.wait", "where": {"time_in_seconds": 0}}]
            )
            for _ in range(4):
                trial = api.post("/api/v1/trial", json={"experiment": experiment})
                trial_id = str(trial.raise_for_status().json()["id"])

                def succeeded(trial_id: str = trial_id) -> bool:
                    return _status(api, trial_id) == "Succeeded"

                _wait_until(succeeded, 90, "a notified worker to run the trial")
    finally:
        fleet.stop()


def test_fleet_runs_each_trial_once_and_recovers_a_killed_workers_trials(
    fleet: Fleet, probe_target: ProbeTarget
) -> None:
    fleet.start_api()
    workers = [fleet.start_worker() for _ in range(3)]
    with httpx.Client(base_url=fleet.url, timeout=30) as api:
        experiment = _experiment(
            api,
            [
                {
                    "do": "cm.http_request",
                    "where": {"url": probe_target.url + "/chaos/{{ n }}"},
                },
                {"do": "cm.wait", "where": {"time_in_seconds": 2}},
            ],
        )
        ids = [
            api.post(
                "/api/v1/trial", json={"experiment": experiment, "parameters": {"n": n}}
            )
            .raise_for_status()
            .json()["id"]
            for n in range(24)
        ]
        with psycopg.connect(_libpq(fleet.database_url), autocommit=True) as conn:

            def holders() -> Counter[int]:
                rows = conn.execute(
                    "SELECT worker_id FROM trials WHERE status = 'In Progress'"
                ).fetchall()
                return Counter(int(row[0].split(":")[1]) for row in rows)

            _wait_until(lambda: bool(holders()), 30, "trials in progress")
            victim_pid = holders().most_common(1)[0][0]
        victim = next(worker for worker in workers if worker.pid == victim_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()

        _wait_until(
            lambda: all(_status(api, trial_id) in TERMINAL for trial_id in ids),
            LEASE_SECONDS + 60,
            "every trial to end",
        )
        trials = [
            api.get(f"/api/v1/trial/{trial_id}").raise_for_status().json()
            for trial_id in ids
        ]

    chaos = Counter(
        r["path"] for r in probe_target.requests if r["path"].startswith("/chaos/")
    )
    assert max(chaos.values()) == 1, "a chaos step ran twice"
    succeeded = [t for t in trials if t["status"] == "Succeeded"]
    recovered = [t for t in trials if t["status"] == "Failed"]
    assert len(succeeded) + len(recovered) == len(ids)
    assert recovered, "the killed worker held trials"
    for trial in recovered:
        assert "was lost" in " ".join(result_lines(trial["trial_record"]))
    for trial in succeeded:
        assert chaos[f"/chaos/{trial['parameters']['n']}"] == 1
    survivors = [worker for worker in workers if worker is not victim]
    assert all(fleet.trials_run_by(worker) > 0 for worker in survivors)


def test_an_idle_worker_polls_with_one_read_and_opens_no_transaction(
    database_url: str, tmp_path: Path
) -> None:
    # The worker reaches PostgreSQL through a proxy that notes every statement
    # it sends: what the server receives, BEGIN and COMMIT included.
    subprocess.run(
        [sys.executable, "-m", "kallisti", "migrate"],
        env={**os.environ, "KALLISTI_DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )
    poll_seconds = 0.2
    with StatementCounter() as counter:
        through_proxy = database_url.replace(":5432/", f":{counter.port}/")
        fleet = Fleet(
            f"{through_proxy}?sslmode=disable&gssencmode=disable",
            tmp_path,
            KALLISTI_LISTEN_POLL_INTERVAL_SECONDS=str(poll_seconds),
            KALLISTI_POLL_INTERVAL_SECONDS=str(poll_seconds),
            KALLISTI_LEASE_SECONDS="30",  # a heartbeat every 10 s
        )
        try:
            worker = fleet.start_worker()
            with psycopg.connect(_libpq(database_url), autocommit=True) as conn:

                def has_beaten() -> bool:
                    assert worker.poll() is None, "the worker exited"
                    return bool(conn.execute("SELECT 1 FROM workers").fetchone())

                _wait_until(has_beaten, 60, "the worker's first heartbeat")
            time.sleep(1)  # its start-up (first claim, first look at schedules)
            counter.take()
            time.sleep(10 * poll_seconds)
            idle = [s for s in counter.take() if s not in ("", ";")]  # ; pings
        finally:
            fleet.stop()

    polls = [s for s in idle if s.startswith("SELECT (EXISTS")]
    assert len(polls) >= 3, idle
    opened = [s for s in idle if s.split()[0].upper() in ("BEGIN", "COMMIT")]
    assert opened == [], "an idle worker opened transactions"
    assert not any("UPDATE trials" in s or "FOR UPDATE" in s for s in idle), idle
    # Besides its polls, at most a heartbeat and a look for due schedules.
    assert len(idle) - len(polls) <= 2, idle
