"""Durability of the queue with real worker processes (`kallisti worker`):
a worker killed with SIGKILL mid-trial, several workers sharing one database.

No chaos step may run twice; a lost trial's post steps run and it ends Failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from kallisti.domain.models import ExperimentCreate, TrialCreate
from kallisti.domain.record import result_lines
from kallisti.store import Store
from kallisti.store.tables import trials
from support import ProbeTarget, create_postgres_database, drop_postgres_database

LEASE_SECONDS = 3.0


@pytest.fixture(scope="module")
def _own_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    # Not the shared service's database: its in-process worker would compete
    # for these trials.
    urls = {
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('durability')}/kallisti.db",
        "postgresql": create_postgres_database(),
    }
    yield urls
    drop_postgres_database(urls["postgresql"])


@pytest.fixture
def durable_store(backend: str, _own_databases: dict[str, str]) -> Iterator[Store]:
    store = Store(_own_databases[backend])
    store.migrate()
    yield store
    store.close()


class WorkerProcesses:
    """Starts `kallisti worker` processes and ends exactly those it started."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "KALLISTI_DATABASE_URL": self.database_url,
            "KALLISTI_LEASE_SECONDS": str(LEASE_SECONDS),
            "KALLISTI_POLL_INTERVAL_SECONDS": "0.05",
            "KALLISTI_STOP_CHECK_INTERVAL_SECONDS": "0.05",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "kallisti", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(durable_store: Store) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(durable_store.database_url)
    yield processes
    processes.close()


def _experiment(store: Store, target: ProbeTarget, tag: str, wait: float) -> uuid.UUID:
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": f"durability {tag}",
                "steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{target.url}/chaos/{tag}/{{{{ n }}}}"},
                    },
                    {"do": "cm.wait", "where": {"time_in_seconds": wait}},
                ],
                "post_steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{target.url}/cleanup/{tag}/{{{{ n }}}}"},
                    }
                ],
            }
        ),
        created_by="test",
    )
    return experiment.id


def _row(store: Store, trial_id: uuid.UUID) -> Any:
    with store.read() as conn:
        return conn.execute(sa.select(trials).where(trials.c.id == str(trial_id))).one()


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _waiting(store: Store, trial_id: uuid.UUID) -> bool:
    """The chaos step is done and recorded; the long wait has begun."""
    return len(_row(store, trial_id).trial_record.get("steps", [])) == 2


def _paths(target: ProbeTarget, prefix: str) -> list[str]:
    return [r["path"] for r in target.requests if r["path"].startswith(prefix)]


def test_sigkilled_worker_trial_is_cleaned_up_and_failed_by_its_successor(
    durable_store: Store, workers: WorkerProcesses, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment_id = _experiment(durable_store, probe_target, tag, wait=600)
    trial = durable_store.trials.create(
        TrialCreate(experiment=experiment_id, parameters={"n": 1}),
        initiated_by="test",
        initiated_from="api",
    )
    first = workers.start()
    _wait_until(lambda: _waiting(durable_store, trial.id), 30, "the wait step")
    first.send_signal(signal.SIGKILL)
    first.wait()

    workers.start()
    _wait_until(
        lambda: _row(durable_store, trial.id).status == "Failed",
        LEASE_SECONDS + 30,
        "the recovery",
    )
    row = _row(durable_store, trial.id)
    assert _paths(probe_target, f"/chaos/{tag}") == [f"/chaos/{tag}/1"]
    assert _paths(probe_target, f"/cleanup/{tag}") == [f"/cleanup/{tag}/1"]
    assert "was lost" in " ".join(result_lines(row.trial_record))
    assert row.trial_record["steps"][0]["logs"][-1].endswith("Completed.")
    assert len(row.trial_record["post_steps"]) == 1
    assert row.completed_at is not None


def test_another_worker_recovers_a_lost_trial_within_the_lease(
    durable_store: Store, workers: WorkerProcesses, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment_id = _experiment(durable_store, probe_target, tag, wait=600)
    started = [workers.start(), workers.start()]
    trial = durable_store.trials.create(
        TrialCreate(experiment=experiment_id, parameters={"n": 1}),
        initiated_by="test",
        initiated_from="api",
    )
    _wait_until(lambda: _waiting(durable_store, trial.id), 30, "the wait step")
    holder_pid = int(_row(durable_store, trial.id).worker_id.split(":")[1])
    holder = next(p for p in started if p.pid == holder_pid)
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    _wait_until(
        lambda: _row(durable_store, trial.id).status == "Failed",
        LEASE_SECONDS + 30,
        "the recovery by the surviving worker",
    )
    assert _paths(probe_target, f"/chaos/{tag}") == [f"/chaos/{tag}/1"]
    assert _paths(probe_target, f"/cleanup/{tag}") == [f"/cleanup/{tag}/1"]


def test_three_workers_run_each_trial_exactly_once(
    durable_store: Store, workers: WorkerProcesses, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment_id = _experiment(durable_store, probe_target, tag, wait=0.2)
    for _ in range(3):
        workers.start()
    created = [
        durable_store.trials.create(
            TrialCreate(experiment=experiment_id, parameters={"n": n}),
            initiated_by="test",
            initiated_from="api",
        )
        for n in range(30)
    ]
    _wait_until(
        lambda: all(_row(durable_store, t.id).status == "Succeeded" for t in created),
        60,
        "all trials to succeed",
    )
    chaos = _paths(probe_target, f"/chaos/{tag}")
    assert sorted(chaos) == sorted(f"/chaos/{tag}/{n}" for n in range(30))
