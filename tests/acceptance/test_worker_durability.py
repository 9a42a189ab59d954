"""Durability of the queue with real worker processes (`kallisti worker`):
a worker killed with SIGKILL mid-trial, several workers sharing one database.

No chaos step may run twice; a lost trial's post steps run and it ends Failed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from k8s_cluster import ADMIN_TOKEN, LoopbackCluster
from kallisti.domain.models import ExperimentCreate, TrialCreate
from kallisti.domain.record import result_lines
from kallisti.store import Store
from kallisti.store.tables import trials
from kallisti.store.tables import workers as workers_table
from support import (
    ProbeTarget,
    create_postgres_database,
    drop_postgres_database,
    end_processes,
)

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
        end_processes(self.processes)


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
        120,  # three interpreters importing every driver: slow on a loaded box
        "all trials to succeed",
    )
    chaos = _paths(probe_target, f"/chaos/{tag}")
    assert sorted(chaos) == sorted(f"/chaos/{tag}/{n}" for n in range(30))


def test_a_worker_killed_during_post_steps_leaves_only_the_unfinished_ones(
    durable_store: Store, workers: WorkerProcesses, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment = durable_store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": f"killed in clean-up {tag}",
                "steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{probe_target.url}/chaos/{tag}"},
                    }
                ],
                "post_steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{probe_target.url}/cleanup/{tag}/1"},
                    },
                    {"do": "cm.wait", "where": {"time_in_seconds": 3}},
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{probe_target.url}/cleanup/{tag}/3"},
                    },
                ],
            }
        ),
        created_by="test",
    )
    trial = durable_store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="test", initiated_from="api"
    )
    first = workers.start()
    _wait_until(
        lambda: (
            len(_row(durable_store, trial.id).trial_record.get("post_steps", [])) == 2
        ),
        30,
        "the second post step",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()

    workers.start()
    _wait_until(
        lambda: _row(durable_store, trial.id).status == "Failed",
        LEASE_SECONDS + 30,
        "the recovery",
    )
    record = _row(durable_store, trial.id).trial_record
    assert _paths(probe_target, f"/chaos/{tag}") == [f"/chaos/{tag}"]
    assert _paths(probe_target, f"/cleanup/{tag}") == [
        f"/cleanup/{tag}/1",
        f"/cleanup/{tag}/3",
    ]
    post = record["post_steps"]
    assert [entry["step_name"] for entry in post] == [
        "Http request",
        "Wait",
        "Http request",
    ]
    assert all(entry["logs"][-1].endswith("Completed.") for entry in post)
    assert (
        sum("Starting command execution." in line for e in post for line in e["logs"])
        == 3
    )
    assert any("Post step 2 was interrupted" in line for line in result_lines(record))


def _lease_experiment(
    store: Store, target: ProbeTarget, tag: str, wait: float
) -> uuid.UUID:
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": f"lease {tag}",
                "steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{target.url}/chaos/{tag}/1"},
                    },
                    {"do": "cm.wait", "where": {"time_in_seconds": wait}},
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{target.url}/chaos/{tag}/2"},
                    },
                ],
                "post_steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{target.url}/cleanup/{tag}"},
                    }
                ],
            }
        ),
        created_by="test",
    )
    return experiment.id


def test_a_trial_several_leases_long_on_a_live_worker_is_never_recovered(
    durable_store: Store, workers: WorkerProcesses, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment_id = _lease_experiment(
        durable_store, probe_target, tag, wait=LEASE_SECONDS * 3
    )
    workers.start()
    workers.start()
    trial = durable_store.trials.create(
        TrialCreate(experiment=experiment_id), initiated_by="test", initiated_from="api"
    )

    _wait_until(
        lambda: _row(durable_store, trial.id).status in {"Succeeded", "Failed"},
        LEASE_SECONDS * 3 + 60,
        "the end of the trial",
    )
    row = _row(durable_store, trial.id)
    assert row.status == "Succeeded", row.trial_record
    assert _paths(probe_target, f"/chaos/{tag}") == [
        f"/chaos/{tag}/1",
        f"/chaos/{tag}/2",
    ]
    assert _paths(probe_target, f"/cleanup/{tag}") == [f"/cleanup/{tag}"]
    assert not any("lost" in line for line in result_lines(row.trial_record))


def _has_open_write(store: Store) -> bool:
    """Whether another connection holds a write transaction open right now."""
    if store.database_url.startswith("sqlite"):
        probe = sqlite3.connect(
            store.database_url.removeprefix("sqlite:///"), timeout=0.2
        )
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    with store.read() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                    " AND state <> 'idle'"
                )
            ).scalar()
        )


def _freeze_between_transactions(store: Store, worker: subprocess.Popen[bytes]) -> None:
    """SIGSTOP `worker` at a moment it holds no write transaction open.

    A process frozen inside one holds SQLite's single write lock (or its rows'
    locks on PostgreSQL) for as long as it stays frozen, and no other worker
    can write at all: that is the database's limit, not the lease's, which is
    what this test is about.
    """
    for _ in range(100):
        worker.send_signal(signal.SIGSTOP)
        if not _has_open_write(store):
            return
        worker.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("the worker never stood between two transactions")


def _heartbeat_of(store: Store, worker_id: str) -> Any:
    with store.read() as conn:
        return conn.execute(
            sa.select(workers_table.c.heartbeat_at).where(
                workers_table.c.id == worker_id
            )
        ).scalar()


def test_a_worker_paused_past_its_lease_never_touches_the_trial_again(
    durable_store: Store, workers: WorkerProcesses, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment_id = _lease_experiment(
        durable_store, probe_target, tag, wait=LEASE_SECONDS
    )
    paused = workers.start()
    trial = durable_store.trials.create(
        TrialCreate(experiment=experiment_id), initiated_by="test", initiated_from="api"
    )
    _wait_until(lambda: _waiting(durable_store, trial.id), 30, "the wait step")
    paused_id = _row(durable_store, trial.id).worker_id
    _freeze_between_transactions(durable_store, paused)
    try:
        workers.start()
        _wait_until(
            lambda: _row(durable_store, trial.id).status == "Failed",
            LEASE_SECONDS + 60,
            "the recovery",
        )
        closed = _row(durable_store, trial.id).trial_record
    finally:
        paused.send_signal(signal.SIGCONT)
    resumed_at = durable_store.clock()
    # Two heartbeats after the resume: the paused worker's loop has run every
    # timer that fell due while it slept, the end of its wait step included.
    _wait_until(
        lambda: (
            (beat := _heartbeat_of(durable_store, paused_id)) is not None
            and beat > resumed_at + timedelta(seconds=LEASE_SECONDS / 3)
        ),
        30,
        "the paused worker's heartbeats after the resume",
    )

    assert _paths(probe_target, f"/chaos/{tag}") == [f"/chaos/{tag}/1"]
    assert _paths(probe_target, f"/cleanup/{tag}") == [f"/cleanup/{tag}"]
    assert _row(durable_store, trial.id).trial_record == closed


@pytest.fixture(scope="module")
def _ledger_cluster() -> Iterator[LoopbackCluster]:
    cluster = LoopbackCluster().start()
    yield cluster
    cluster.stop()


def _policies(cluster: LoopbackCluster) -> list[str]:
    found = cluster.objects("networkpolicies", "default", group="networking.k8s.io")
    return [policy["metadata"]["name"] for policy in found]


def test_a_fault_left_by_a_sigkilled_worker_is_reverted_by_its_successor(
    durable_store: Store,
    workers: WorkerProcesses,
    _ledger_cluster: LoopbackCluster,
    tmp_path: Path,
) -> None:
    cluster = _ledger_cluster
    cluster.reset()
    token = tmp_path / "token"
    token.write_text(ADMIN_TOKEN)
    access = {
        "k8s_api_host": cluster.url,
        "credentials": {"type": "TOKEN_FILE", "token_path": str(token)},
    }
    experiment = durable_store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": "fault left by a lost worker",
                "steps": [
                    {"do": "k8s.deny_all_ingress", "where": access},
                    {"do": "cm.wait", "where": {"time_in_seconds": 600}},
                ],
            }
        ),
        created_by="test",
    )
    trial = durable_store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="test", initiated_from="api"
    )
    first = workers.start()
    _wait_until(lambda: _waiting(durable_store, trial.id), 30, "the wait step")
    policies = cluster.objects("networkpolicies", "default", group="networking.k8s.io")
    assert [p["metadata"]["name"] for p in policies] == [
        "chaostoolkit-deny-all-ingress"
    ]
    first.send_signal(signal.SIGKILL)
    first.wait()

    workers.start()
    _wait_until(
        lambda: _row(durable_store, trial.id).status == "Failed",
        LEASE_SECONDS + 30,
        "the recovery",
    )

    assert (
        cluster.objects("networkpolicies", "default", group="networking.k8s.io") == []
    )
    (entry,) = durable_store.ledger.entries(str(trial.id))
    assert entry.state.value == "reverted"
    row = _row(durable_store, trial.id)
    lines = " ".join(result_lines(row.trial_record))
    assert (
        "Fault ledger: reverted network policy 'chaostoolkit-deny-all-ingress'" in lines
    )
    assert row.residual_faults is None
