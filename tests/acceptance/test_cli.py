"""The `kallisti` command as a user runs it: serve, run, worker shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kallisti.domain.record import result_lines
from support import ProbeTarget, wait_for_trial

KALLISTI = [sys.executable, "-m", "kallisti"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KALLISTI_DATABASE_URL": f"sqlite:///{tmp_path / 'kallisti.db'}",
        **extra,
    }


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("kallisti serve did not become healthy")
        time.sleep(0.05)


def test_serve_migrates_a_new_sqlite_database_and_runs_trials(
    tmp_path: Path, probe_target: ProbeTarget
) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [*KALLISTI, "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        with httpx.Client(base_url=url) as client:
            assert client.get("/", follow_redirects=True).text.count("swagger") > 0
            experiment = client.post(
                "/api/v1/experiment",
                json={
                    "name": "smoke",
                    "steps": [
                        {"do": "cm.http_probe", "where": {"url": probe_target.url}}
                    ],
                },
            ).json()
            trial = client.post("/api/v1/trial", json={"experiment": experiment["id"]})
            assert wait_for_trial(client, trial.json()["id"])["status"] == "Succeeded"
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    assert "ACCESS CONTROL IS OFF" in output
    assert (tmp_path / "kallisti.db").exists()


def _experiment_file(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(body))
    return path


def test_run_prints_the_record_and_exits_zero_on_success(
    tmp_path: Path, probe_target: ProbeTarget
) -> None:
    path = _experiment_file(
        tmp_path,
        {
            "name": "local run",
            "parameters": {"path": "default"},
            "steps": [
                {
                    "do": "cm.http_probe",
                    "where": {"url": probe_target.url + "/{{ path }}"},
                }
            ],
        },
    )
    result = subprocess.run(
        [*KALLISTI, "run", str(path), "--param", "path=given"],
        env=_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    output = json.loads(result.stdout)
    assert output["status"] == "Succeeded"
    assert output["trial_record"]["steps"][0]["step_parameters"]["url"].endswith(
        "/given"
    )
    assert "Starting command execution." in result.stderr.decode()
    assert probe_target.requests[-1]["path"] == "/given"


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        ([{"do": "cm.http_probe", "where": {"url": "http://127.0.0.1:1/"}}], "Failed"),
        ([{"do": "cm.wait", "where": {"time_in_seconds": "{{ missing }}"}}], "Invalid"),
    ],
)
def test_run_exits_non_zero_unless_the_trial_succeeds(
    tmp_path: Path, steps: list[dict[str, Any]], status: str
) -> None:
    path = _experiment_file(tmp_path, {"name": "failing", "steps": steps})
    result = subprocess.run(
        [*KALLISTI, "run", str(path)],
        env=_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["status"] == status


def test_run_rejects_an_invalid_experiment_file_with_exit_two(tmp_path: Path) -> None:
    path = _experiment_file(tmp_path, {"name": "no steps"})
    result = subprocess.run(
        [*KALLISTI, "run", str(path)],
        env=_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "steps" in result.stderr.decode()


def test_run_dry_run_changes_nothing_but_runs_the_probes(
    tmp_path: Path, probe_target: ProbeTarget
) -> None:
    path = _experiment_file(
        tmp_path,
        {
            "name": "dry",
            "pre_steps": [
                {"do": "cm.http_probe", "where": {"url": probe_target.url + "/health"}}
            ],
            "steps": [
                {
                    "do": "cm.http_request",
                    "where": {"url": probe_target.url, "method": "DELETE"},
                }
            ],
        },
    )
    result = subprocess.run(
        [*KALLISTI, "run", str(path), "--dry-run"],
        env=_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert [(r["method"], r["path"]) for r in probe_target.requests] == [
        ("GET", "/health")
    ]
    logs = json.loads(result.stdout)["trial_record"]["steps"][0]["logs"]
    assert any("Dry run" in line for line in logs)


def test_worker_sigterm_stops_its_trials_and_runs_their_post_steps(
    tmp_path: Path, probe_target: ProbeTarget
) -> None:
    from kallisti.domain.models import ExperimentCreate, TrialCreate
    from kallisti.store import Store

    env = _env(tmp_path, KALLISTI_POLL_INTERVAL_SECONDS="0.05")
    store = Store(env["KALLISTI_DATABASE_URL"])
    store.migrate()
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": "long",
                "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 600}}],
                "post_steps": [
                    {
                        "do": "cm.http_request",
                        "where": {"url": probe_target.url + "/undo"},
                    }
                ],
            }
        ),
        created_by="test",
    )
    trial = store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="test", initiated_from="api"
    )
    worker = subprocess.Popen([*KALLISTI, "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while "steps" not in store.trials.get(trial.id).trial_record:
            assert time.monotonic() < deadline, "the trial never started"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    finished = store.trials.get(trial.id)
    store.close()
    assert finished.status == "Stopped"
    assert [r["path"] for r in probe_target.requests] == ["/undo"]
    assert "shutting down" in " ".join(result_lines(finished.trial_record))


def test_modules_lists_the_catalogue_and_refuses_an_unknown_namespace(
    tmp_path: Path,
) -> None:
    listed = subprocess.run(
        [*KALLISTI, "modules", "cm", "--json"],
        env=_env(tmp_path),
        capture_output=True,
        timeout=60,
        check=True,
    )
    (cm,) = json.loads(listed.stdout)
    assert cm["name"] == "cm"
    assert [a["name"] for a in cm["actions"]] == ["http_probe", "http_request", "wait"]

    table = subprocess.run(
        [*KALLISTI, "modules"], env=_env(tmp_path), capture_output=True, timeout=60
    )
    assert table.returncode == 0
    assert b"terminate_pods" in table.stdout and b"url*" in table.stdout

    unknown = subprocess.run(
        [*KALLISTI, "modules", "nope"], env=_env(tmp_path), capture_output=True
    )
    assert unknown.returncode == 1
    assert b"Unknown module name 'nope'" in unknown.stderr


def test_run_honours_the_experiments_guards(tmp_path: Path) -> None:
    guard = {
        "step": "Backend up",
        "do": "cm.http_probe",
        "where": {"url": "http://127.0.0.1:1/"},
        "interval_seconds": 0.1,
    }
    path = _experiment_file(
        tmp_path,
        {
            "name": "guarded local run",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 600}}],
            "guards": [guard],
        },
    )
    result = subprocess.run(
        [*KALLISTI, "run", str(path)],
        env=_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    output = json.loads(result.stdout)
    assert result.returncode == 1
    assert output["status"] == "Stopped"
    assert output["trial_record"]["guards"][0]["step_name"] == "Backend up"
