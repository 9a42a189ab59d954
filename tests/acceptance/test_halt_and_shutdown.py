"""The halt switch and shutdown with real processes: `kallisti halt` stops the
trials of two `kallisti worker` processes sharing PostgreSQL and reaches a
console's open halt stream; SIGTERM to `kallisti serve` stops its trials
cleanly (post steps run, `shutdown`) and is not held up by open streams."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_kallisti_halt_reaches_an_open_console_stream_which_never_holds_up_sigterm(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(f"sqlite:///{tmp_path}/kallisti.db")
    store.migrate()
    port = _free_port()
    serve = _kallisti(store, processes, "serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    _wait_until(lambda: _answers(f"{url}/api/v1/health"), "the service to answer")
    with httpx.Client(base_url=url, timeout=30) as client:
        with client.stream("GET", "/api/v1/halt/events") as stream:
            events = (
                json.loads(line.removeprefix("data:"))
                for line in stream.iter_lines()
                if line.startswith("data:")
            )
            assert next(events)["halted"] is False
            halt = subprocess.run(
                [sys.executable, "-m", "kallisti", "halt", "--reason", "from the CLI"],
                env=_env(store),
                capture_output=True,
                timeout=60,
            )
            assert halt.returncode == 0, halt.stderr
            assert next(events)["reason"] == "from the CLI"

            # The stream is still open: SIGTERM must not wait for it.
            started = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=30)
            assert time.monotonic() - started < 10
    store.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
