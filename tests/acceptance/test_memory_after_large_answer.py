"""The embedded default service gives back the memory a trial reading a large
answer used: its RSS ends near where it was idle, in a process of its own."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hostile_targets import StreamingTarget
from support import start_serve, wait_for_trial

KALLISTI = [sys.executable, "-m", "kallisti"]
MIB = 1024 * 1024


@pytest.fixture
def streaming_target() -> Iterator[StreamingTarget]:
    target = StreamingTarget().start()
    yield target
    target.stop()


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def _run_trial(api: httpx.Client, url: str) -> dict[str, object]:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": f"read {url}",
            "steps": [{"do": "cm.http_request", "where": {"url": url, "timeout": 60}}],
        },
    ).raise_for_status()
    trial = api.post(
        "/api/v1/trial", json={"experiment": experiment.json()["id"]}
    ).raise_for_status()
    return wait_for_trial(api, trial.json()["id"], timeout=120)


@pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads RSS from /proc"
)
def test_memory_returns_near_idle_after_a_trial_reads_a_1_gb_answer(
    tmp_path: Path, streaming_target: StreamingTarget
) -> None:
    env = {
        **os.environ,
        "KALLISTI_DATABASE_URL": f"sqlite:///{tmp_path / 'kallisti.db'}",
        "KALLISTI_POLL_INTERVAL_SECONDS": "0.05",
    }
    process, url, _ = start_serve(["--port", "0"], env)
    # Keep reading, so that a full pipe never blocks the server.
    assert process.stdout is not None
    threading.Thread(target=process.stdout.read, daemon=True).start()
    try:
        with httpx.Client(base_url=url, timeout=30) as api:
            # Idle: started and answering, no experiment yet (as an operator
            # sees it before the first trial).
            for _ in range(20):
                api.get("/api/v1/health").raise_for_status()
            idle = _rss_bytes(process.pid)

            trial = _run_trial(api, f"{streaming_target.url}/bytes/1000000000")

            assert trial["status"] == "Succeeded", trial
            after = _rss_bytes(process.pid)
            assert after - idle <= 20 * MIB, (idle / MIB, after / MIB)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.stdout is not None
        process.stdout.close()
