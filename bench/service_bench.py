"""Benchmarks of the service on its embedded default (SQLite, in-process worker).

Each scenario starts `kallisti serve` as a real process on a fresh database on
127.0.0.1 and drives it over HTTP, as a user would. Run:

    .venv/bin/python -m bench.service_bench            # every scenario
    .venv/bin/python -m bench.service_bench stop_latency

Figures the issues ask for: engine overhead per step ≤ 2 ms; POST /trial →
terminal p50 ≤ 100 ms; 100 one-second trials all terminal ≤ 5 s; stop latency
p50 ≤ 500 ms; POST /experiment req/s at 8 clients and GET /trial p99 with
10,000 trials stored (reported).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"Succeeded", "Failed", "Aborted", "Invalid", "Stopped"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(**env: str) -> Iterator[tuple[str, Path]]:
    """`kallisti serve` on a fresh SQLite database; yields (base URL, db path)."""
    with served_process(**env) as (url, database, _):
        yield url, database


@contextmanager
def served_process(
    **env: str,
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`served`, also yielding the `kallisti serve` process."""
    with tempfile.TemporaryDirectory(prefix="kallisti-bench-") as directory:
        database = Path(directory) / "kallisti.db"
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "kallisti", "serve", "--port", str(port)],
            env={**os.environ, "KALLISTI_DATABASE_URL": f"sqlite:///{database}", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    httpx.get(f"{url}/api/v1/health", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("kallisti serve did not start") from None
                    time.sleep(0.05)
            yield url, database, process
        finally:
            process.terminate()
            process.wait(timeout=60)


def _experiment(client: httpx.Client, steps: list[dict[str, Any]]) -> str:
    response = client.post(
        "/api/v1/experiment", json={"name": "bench", "steps": steps}
    ).raise_for_status()
    return str(response.json()["id"])


def _wait(
    client: httpx.Client,
    trial_id: str,
    done: Callable[[dict[str, Any]], bool],
    poll: float = 0.002,
    timeout: float = 120,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        trial = client.get(f"/api/v1/trial/{trial_id}").raise_for_status().json()
        if done(trial):
            return trial
        if time.monotonic() > deadline:
            raise RuntimeError(f"trial {trial_id} stuck in {trial['status']}")
        time.sleep(poll)


def _terminal(trial: dict[str, Any]) -> bool:
    return trial["status"] in TERMINAL


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def engine_overhead() -> dict[str, float]:
    """A trial of 100 `cm.wait 0` steps: (completed_at - executed_at) / 100."""
    wait0 = {"do": "cm.wait", "where": {"time_in_seconds": 0}}
    per_step = []
    with served() as (url, _), httpx.Client(base_url=url) as client:
        experiment = _experiment(client, [wait0] * 100)
        for _ in range(5):
            trial = client.post("/api/v1/trial", json={"experiment": experiment}).json()
            done = _wait(client, trial["id"], _terminal, poll=0.01)
            assert done["status"] == "Succeeded", done["status"]
            per_step.append(_seconds(done["executed_at"], done["completed_at"]) / 100)
    return {
        "engine_overhead_per_step_ms_median": statistics.median(per_step) * 1000,
        "engine_overhead_per_step_ms_max": max(per_step) * 1000,
    }


def trial_latency(runs: int = 50) -> dict[str, float]:
    """POST /trial → terminal status seen by a polling client, one `cm.wait 0`."""
    latencies = []
    with served() as (url, _), httpx.Client(base_url=url) as client:
        experiment = _experiment(
            client, [{"do": "cm.wait", "where": {"time_in_seconds": 0}}]
        )
        for _ in range(runs):
            started = time.perf_counter()
            trial = client.post("/api/v1/trial", json={"experiment": experiment}).json()
            _wait(client, trial["id"], _terminal)
            latencies.append(time.perf_counter() - started)
    return {
        "post_trial_to_terminal_ms_p50": statistics.median(latencies) * 1000,
        "post_trial_to_terminal_ms_p90": _percentile(latencies, 0.9) * 1000,
    }


def burst(trials: int = 100, concurrency: int | None = None) -> dict[str, float]:
    """`trials` one-second trials posted at once to one worker: time to all done."""
    env = (
        {} if concurrency is None else {"KALLISTI_WORKER_CONCURRENCY": str(concurrency)}
    )
    label = f"concurrency_{concurrency or 'default'}"
    with served(**env) as (url, _), httpx.Client(base_url=url) as client:
        experiment = _experiment(
            client, [{"do": "cm.wait", "where": {"time_in_seconds": 1}}]
        )

        async def post_all() -> list[str]:
            async with httpx.AsyncClient(base_url=url) as async_client:
                responses = await asyncio.gather(
                    *(
                        async_client.post(
                            "/api/v1/trial", json={"experiment": experiment}
                        )
                        for _ in range(trials)
                    )
                )
            return [r.raise_for_status().json()["id"] for r in responses]

        started = time.perf_counter()
        ids = asyncio.run(post_all())
        for trial_id in ids:
            _wait(client, trial_id, _terminal, poll=0.02)
        elapsed = time.perf_counter() - started
    return {f"burst_{trials}x1s_all_terminal_s_{label}": elapsed}


def stop_latency(runs: int = 20) -> dict[str, float]:
    """PUT /trial/{id}/stop during a 10-minute wait → `Stopped` seen by the client."""
    latencies = []
    with served() as (url, _), httpx.Client(base_url=url) as client:
        experiment = _experiment(
            client, [{"do": "cm.wait", "where": {"time_in_seconds": 600}}]
        )
        for _ in range(runs):
            trial = client.post("/api/v1/trial", json={"experiment": experiment}).json()
            _wait(client, trial["id"], lambda t: "steps" in t["trial_record"])
            started = time.perf_counter()
            client.put(f"/api/v1/trial/{trial['id']}/stop").raise_for_status()
            done = _wait(client, trial["id"], _terminal)
            latencies.append(time.perf_counter() - started)
            assert done["status"] == "Stopped", done["status"]
    return {
        "stop_latency_ms_p50": statistics.median(latencies) * 1000,
        "stop_latency_ms_max": max(latencies) * 1000,
    }


def experiment_throughput(clients: int = 8, seconds: float = 5.0) -> dict[str, float]:
    """POST /experiment requests per second with `clients` concurrent clients."""
    body = {
        "name": "throughput",
        "steps": [{"do": "cm.http_probe", "where": {"url": "http://127.0.0.1:1/x"}}],
    }
    with served() as (url, _):

        async def client_loop(deadline: float) -> int:
            count = 0
            async with httpx.AsyncClient(base_url=url) as client:
                while time.perf_counter() < deadline:
                    (
                        await client.post("/api/v1/experiment", json=body)
                    ).raise_for_status()
                    count += 1
            return count

        async def run() -> int:
            deadline = time.perf_counter() + seconds
            return sum(
                await asyncio.gather(*(client_loop(deadline) for _ in range(clients)))
            )

        total = asyncio.run(run())
    return {f"post_experiment_rps_{clients}_clients": total / seconds}


def trial_list_latency(stored: int = 10_000, requests: int = 50) -> dict[str, float]:
    """GET /trial latency with `stored` finished trials in the database."""
    from kallisti.store import Store
    from kallisti.store.tables import trials

    with served() as (url, database), httpx.Client(base_url=url, timeout=120) as client:
        experiment = _experiment(
            client, [{"do": "cm.wait", "where": {"time_in_seconds": 0}}]
        )
        snapshot = client.get(f"/api/v1/experiment/{experiment}").json()
        now = datetime.now(UTC)
        line = f"[{now.isoformat()} - INFO] Completed."
        record = {
            "steps": [
                {
                    "step_name": "Wait",
                    "step_parameters": {"time_in_seconds": 0},
                    "logs": ["Starting command execution.", line],
                }
            ],
            "result": [line],
        }
        store = Store(f"sqlite:///{database}")
        with store.write() as conn:
            conn.execute(
                trials.insert(),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "experiment_id": experiment,
                        "experiment_snapshot": snapshot,
                        "parameters": {},
                        "metadata": {},
                        "ticket": {},
                        "status": "Succeeded",
                        "trial_record": record,
                        "initiated_by": "bench",
                        "initiated_from": "api",
                        "dry_run": False,
                        "created_at": now,
                        "executed_at": now,
                        "completed_at": now,
                    }
                    for _ in range(stored)
                ],
            )
        store.close()
        full, page = [], []
        for _ in range(requests):
            started = time.perf_counter()
            assert len(client.get("/api/v1/trial").raise_for_status().json()) == stored
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get("/api/v1/trial", params={"limit": 100, "offset": 5000})
            page.append(time.perf_counter() - started)
    return {
        f"get_trial_full_list_{stored}_ms_p50": statistics.median(full) * 1000,
        f"get_trial_full_list_{stored}_ms_p99": _percentile(full, 0.99) * 1000,
        "get_trial_page_of_100_ms_p50": statistics.median(page) * 1000,
        "get_trial_page_of_100_ms_p99": _percentile(page, 0.99) * 1000,
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no RSS for process {pid}")


def memory_steady(trials: int = 10_000, batch: int = 100) -> dict[str, float]:
    """RSS of `kallisti serve` idle, after the first 1,000 trials, the most it
    reached at any later thousand, and after `trials` trials of one `cm.wait 0`
    step (posted `batch` at a time)."""
    figures: dict[str, float] = {}
    later: list[float] = []
    with served_process() as (url, _, process):
        time.sleep(2)
        figures["idle_rss_mib"] = _rss_mib(process.pid)
        with httpx.Client(base_url=url, timeout=60) as client:
            experiment = _experiment(
                client, [{"do": "cm.wait", "where": {"time_in_seconds": 0}}]
            )

            async def post_batch() -> list[str]:
                async with httpx.AsyncClient(base_url=url, timeout=60) as posting:
                    answers = await asyncio.gather(
                        *(
                            posting.post(
                                "/api/v1/trial", json={"experiment": experiment}
                            )
                            for _ in range(batch)
                        )
                    )
                return [a.raise_for_status().json()["id"] for a in answers]

            for done in range(batch, trials + 1, batch):
                ids = asyncio.run(post_batch())
                for trial_id in ids:
                    _wait(client, trial_id, _terminal, poll=0.01)
                if done == 1000:
                    figures["rss_after_1000_trials_mib"] = _rss_mib(process.pid)
                elif done > 1000 and done % 1000 == 0:
                    later.append(_rss_mib(process.pid))
        figures["rss_most_after_the_first_1000_mib"] = max(later)
        figures[f"rss_after_{trials}_trials_mib"] = _rss_mib(process.pid)
    return figures


SCENARIOS: dict[str, Callable[[], dict[str, float]]] = {
    "engine_overhead": engine_overhead,
    "trial_latency": trial_latency,
    "burst": lambda: {**burst(), **burst(concurrency=100)},
    "stop_latency": stop_latency,
    "experiment_throughput": experiment_throughput,
    "trial_list_latency": trial_list_latency,
    "memory_steady": memory_steady,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=", ".join(SCENARIOS))
    chosen = parser.parse_args().scenarios or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    for name in chosen:
        for metric, value in SCENARIOS[name]().items():
            print(f"{metric:50s} {value:10.1f}", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
