"""The halt switch and shutdown with real processes: `kallisti halt` stops the
trials of two `kallisti worker` processes sharing PostgreSQL; SIGTERM to
`kallisti serve` stops its trials cleanly (post steps run, `shutdown`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from kallisti.domain.models import ExperimentCreate, TrialCreate, TrialPublic
from kallisti.store import Store
from support import ProbeTarget, create_postgres_database, drop_postgres_database


@pytest.fixture
def postgres_store() -> Iterator[Store]:
    url = create_postgres_database()
    store = Store(url)
    store.migrate()
    yield store
    store.close()
    drop_postgres_database(url)


def _env(store: Store) -> dict[str, str]:
    return {
        **os.environ,
        "KALLISTI_DATABASE_URL": store.database_url,
        "KALLISTI_POLL_INTERVAL_SECONDS": "0.05",
        "KALLISTI_STOP_CHECK_INTERVAL_SECONDS": "0.25",
        # Eight trials fill both workers of the halt test.
        "KALLISTI_WORKER_CONCURRENCY": "4",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _kallisti(
    store: Store, started: list[subprocess.Popen[bytes]], *args: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kallisti", *args],
        env=_env(store),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.append(process)
    return process


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _long_trials(
    store: Store, target: ProbeTarget, tag: str, count: int
) -> list[TrialPublic]:
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": f"long {tag}",
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 600}}],
                "post_steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": f"{target.url}/undo/{tag}/{{{{ n }}}}"},
                    }
                ],
            }
        ),
        created_by="test",
    )
    return [
        store.trials.create(
            TrialCreate(experiment=experiment.id, parameters={"n": n}),
            initiated_by="test",
            initiated_from="api",
        )
        for n in range(count)
    ]


def _worker_ids(store: Store, trials: list[TrialPublic]) -> set[str]:
    import sqlalchemy as sa

    from kallisti.store.tables import trials as table

    with store.read() as conn:
        return set(
            conn.execute(
                sa.select(table.c.worker_id).where(
                    table.c.id.in_([str(t.id) for t in trials])
                )
            ).scalars()
        )


def test_halt_stops_trials_on_two_workers_sharing_postgresql(
    postgres_store: Store,
    processes: list[subprocess.Popen[bytes]],
    probe_target: ProbeTarget,
) -> None:
    store, tag = postgres_store, uuid.uuid4().hex[:8]
    for _ in range(2):
        _kallisti(store, processes, "worker")
    trials = _long_trials(store, probe_target, tag, 8)
    _wait_until(
        lambda: all(store.trials.get(t.id).trial_record.get("steps") for t in trials),
        "every trial to run its step",
    )
    assert len(_worker_ids(store, trials)) == 2

    halt = subprocess.run(
        [sys.executable, "-m", "kallisti", "halt", "--reason", "pager went off"],
        env=_env(store),
        capture_output=True,
        timeout=60,
    )
    assert halt.returncode == 0, halt.stderr

    _wait_until(
        lambda: all(store.trials.get(t.id).status == "Stopped" for t in trials),
        "every trial to stop",
    )
    for trial in trials:
        ended = store.trials.get(trial.id)
        assert ended.stop_reason == "halt"
        assert len(ended.trial_record["post_steps"]) == 1
    undone = sorted(r["path"] for r in probe_target.requests)
    assert undone == sorted(f"/undo/{tag}/{n}" for n in range(8))
    assert store.safety.halt_state().reason == "pager went off"

    resume = subprocess.run(
        [sys.executable, "-m", "kallisti", "resume"],
        env=_env(store),
        capture_output=True,
        timeout=60,
    )
    assert resume.returncode == 0, resume.stderr
    assert store.safety.halt_state().halted is False


def test_sigterm_to_serve_stops_its_trials_after_their_post_steps(
    postgres_store: Store,
    processes: list[subprocess.Popen[bytes]],
    probe_target: ProbeTarget,
) -> None:
    store, tag = postgres_store, uuid.uuid4().hex[:8]
    serve = _kallisti(store, processes, "serve", "--port", "0")
    trials = _long_trials(store, probe_target, tag, 2)
    _wait_until(
        lambda: all(store.trials.get(t.id).trial_record.get("steps") for t in trials),
        "every trial to run its step",
    )

    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=60)

    for trial in trials:
        ended = store.trials.get(trial.id)
        assert (ended.status, ended.stop_reason) == ("Stopped", "shutdown")
        assert len(ended.trial_record["post_steps"]) == 1
    assert sorted(r["path"] for r in probe_target.requests) == sorted(
        f"/undo/{tag}/{n}" for n in range(2)
    )
