"""`kallisti serve --host ... --no-worker`: the API alone, on the address given;
a standalone `kallisti worker` runs its trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from support import ProbeTarget, start_serve, wait_for_trial

KALLISTI = [sys.executable, "-m", "kallisti"]


def test_serve_without_a_worker_on_another_loopback_address(
    tmp_path: Path, probe_target: ProbeTarget
) -> None:
    env = {
        **os.environ,
        "KALLISTI_DATABASE_URL": f"sqlite:///{tmp_path / 'kallisti.db'}",
        "KALLISTI_POLL_INTERVAL_SECONDS": "0.05",
    }
    server, url, _ = start_serve(
        ["--host", "127.0.0.2", "--port", "0", "--no-worker"], env
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        assert url.startswith("http://127.0.0.2:")
        with httpx.Client(base_url=url, timeout=30) as api:
            health = api.get("/api/v1/health")
            assert (health.status_code, health.json()) == (200, {"status": "up"})
            experiment = api.post(
                "/api/v1/experiment",
                json={
                    "name": "served alone",
                    "steps": [
                        {"do": "cm.http_probe", "where": {"url": probe_target.url}}
                    ],
                },
            ).json()
            trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]})
            assert trial.json()["status"] == "Scheduled"

            worker = subprocess.Popen(
                [*KALLISTI, "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            ended = wait_for_trial(api, trial.json()["id"], timeout=60)
            assert ended["status"] == "Succeeded"
            health = api.get("/api/v1/health")
            assert (health.status_code, health.json()) == (200, {"status": "up"})
    finally:
        for process in (worker, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=60)
