"""Every figure measured on ours and on the original Kallisti 1.3.7, side by side.

Both run on 127.0.0.1 on fresh SQLite files: ours as `kallisti serve` (the
embedded default), Kallisti as its wrapper project runs it (gunicorn with 2
sync workers and one huey consumer, see `bench.kallisti_reference`). The same
client (`hey`, 8 connections) drives both in alternating rounds, and each
figure is printed for both with the ratio (ours relative to Kallisti, > 1 means
ours is better). Run:

    .venv/bin/python -m bench.side_by_side                  # every figure
    .venv/bin/python -m bench.side_by_side post_experiment get_trial
    .venv/bin/python -m bench.side_by_side --rounds 3 --seconds 5

`hey` is the Debian package (`apt-get install hey`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.kallisti_reference import (
    install_reference_kallisti,
    migrate_reference,
    serve_reference,
    write_reference_settings,
)
from bench.service_bench import served_process

TERMINAL = {"Succeeded", "Failed", "Aborted", "Invalid", "Stopped"}
WAIT0 = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}
WAIT1 = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 1}}


@dataclass
class Target:
    """One service under test: how to reach it and how its URLs are spelled."""

    name: str
    url: str
    slash: str  # Kallisti's URLs end in "/", ours need not
    pids: tuple[int, ...]
    database: Path
    seed: Callable[[Target, str, int], None]
    experiment: str = ""
    trial: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def path(self, resource: str) -> str:
        return f"{self.url}/api/v1/{resource}{self.slash}"


# --------------------------------------------------------------------- helpers


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _tree_rss_kib(pids: tuple[int, ...]) -> int:
    """RSS of these processes and all their descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    total = 0
    for pid in seen:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


_HEY_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_HEY_PCT = re.compile(r"(\d+)%+ in ([\d.]+) secs")
_HEY_STATUS = re.compile(r"\[(\d{3})\]\s+(\d+) responses")


def hey(
    url: str, *, seconds: float, clients: int = 8, body: bytes | None = None
) -> dict[str, float]:
    """Run `hey` for `seconds`; return req/s, p50 and p99 (ms). Non-2xx fails."""
    command = ["hey", "-z", f"{seconds}s", "-c", str(clients)]
    with tempfile.NamedTemporaryFile(suffix=".json") as payload:
        if body is not None:
            payload.write(body)
            payload.flush()
            command += ["-m", "POST", "-T", "application/json", "-D", payload.name]
        output = subprocess.run(
            [*command, url], capture_output=True, text=True, check=True
        ).stdout
    statuses = {int(code): int(n) for code, n in _HEY_STATUS.findall(output)}
    bad = {code: n for code, n in statuses.items() if not 200 <= code < 300}
    if bad or not statuses:
        raise RuntimeError(f"{url}: unexpected answers {statuses}\n{output}")
    percentiles = {int(p): float(s) * 1000 for p, s in _HEY_PCT.findall(output)}
    match = _HEY_RPS.search(output)
    assert match is not None, output
    return {
        "rps": float(match.group(1)),
        "p50": percentiles[50],
        "p99": percentiles[99],
    }


@contextmanager
def _client_collector_paused() -> Iterator[None]:
    """No cycle collection in this (the client's) process while it times
    requests. httpx's responses leave cycles, and a collection of them costs
    this process about 5 ms: a sample that took it measured the client, not
    the service. Collected before and after, so nothing piles up."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _post(client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _wait_terminal(
    client: httpx.Client, target: Target, trial_id: str, poll: float = 0.002
) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while True:
        trial: dict[str, Any] = client.get(target.path(f"trial/{trial_id}")).json()
        if trial["status"] in TERMINAL:
            return trial
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: trial {trial_id} stuck")
        time.sleep(poll)


# ------------------------------------------------------------ seeding 10,000


def _now_text() -> str:
    return datetime.now(UTC).isoformat()


def _record() -> dict[str, Any]:
    line = f"[{_now_text()} - INFO] Completed."
    return {
        "steps": [
            {
                "step_name": "Wait",
                "step_parameters": {"time_in_seconds": 0},
                "logs": ["Starting command execution.", line],
            }
        ],
        "result": [line],
    }


def _seed_ours(target: Target, experiment: str, count: int) -> None:
    from kallisti.store import Store
    from kallisti.store.tables import trials

    with httpx.Client() as client:
        snapshot = client.get(target.path(f"experiment/{experiment}")).json()
    now = datetime.now(UTC)
    store = Store(f"sqlite:///{target.database}")
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
                    "trial_record": _record(),
                    "initiated_by": "bench",
                    "initiated_from": "api",
                    "dry_run": False,
                    "created_at": now,
                    "executed_at": now,
                    "completed_at": now,
                }
                for _ in range(count)
            ],
        )
    store.close()


def _seed_reference(target: Target, experiment: str, count: int) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [
        (
            uuid.uuid4().hex,
            "Succeeded",
            now,
            experiment.replace("-", ""),
            "{}",
            "{}",
            "bench",
            now,
            json.dumps(_record()),
            "{}",
            "api",
        )
        for _ in range(count)
    ]
    with sqlite3.connect(target.database, timeout=30) as conn:
        conn.executemany(
            "INSERT INTO kallisticore_trial (id, status, executed_at, experiment_id,"
            " parameters, ticket, initiated_by, completed_at, records, metadata,"
            " initiated_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


# ------------------------------------------------------------- the services


@contextmanager
def both_services(workdir: Path) -> Iterator[tuple[Target, Target]]:
    """Kallisti 1.3.7 and ours, started on fresh databases, with one experiment
    and one finished trial each."""
    python = install_reference_kallisti()
    site = write_reference_settings(workdir, workdir / "reference.sqlite3")
    migrate_reference(python, site)
    with ExitStack() as stack:
        reference = stack.enter_context(serve_reference(python, site))
        ours_url, ours_db, ours = stack.enter_context(served_process())
        targets = (
            Target(
                "Kallisti",
                reference.url,
                "/",
                reference.pids,
                site.database,
                _seed_reference,
            ),
            Target("ours", ours_url, "", (ours.pid,), ours_db, _seed_ours),
        )
        with httpx.Client(timeout=60) as client:
            for target in targets:
                experiment = _post(
                    client,
                    target.path("experiment"),
                    {"name": "bench", "description": "bench", "steps": [WAIT0]},
                )
                target.experiment = str(experiment["id"])
                trial = _post(
                    client, target.path("trial"), {"experiment": target.experiment}
                )
                target.trial = str(trial["id"])
                _wait_terminal(client, target, target.trial)
        yield targets


# ----------------------------------------------------------------- figures

Result = dict[str, dict[str, float]]  # metric -> {target name: value}


def _alternate(
    targets: tuple[Target, Target],
    rounds: int,
    run: Callable[[Target], dict[str, float]],
) -> dict[str, dict[str, list[float]]]:
    values: dict[str, dict[str, list[float]]] = {}
    for index in range(rounds):
        order = targets if index % 2 == 0 else targets[::-1]
        for target in order:
            for metric, value in run(target).items():
                values.setdefault(metric, {}).setdefault(target.name, []).append(value)
    return values


def post_experiment(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    body = json.dumps(
        {
            "name": "throughput",
            "description": "bench",
            "steps": [
                {
                    "step": "Probe",
                    "do": "cm.http_probe",
                    "where": {"url": "http://127.0.0.1:1/x"},
                }
            ],
        }
    ).encode()
    return _alternate(
        targets,
        rounds,
        lambda t: hey(t.path("experiment"), seconds=seconds, body=body),
    )


def get_trial(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    return _alternate(
        targets,
        rounds,
        lambda t: hey(t.path(f"trial/{t.trial}"), seconds=seconds),
    )


def trial_list(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    for target in targets:
        target.seed(target, target.experiment, 10_000)

    def timed(client: httpx.Client, url: str, requests: int) -> list[float]:
        took = []
        with _client_collector_paused():
            for _ in range(requests):
                started = time.perf_counter()
                client.get(url).raise_for_status()
                took.append((time.perf_counter() - started) * 1000)
        return took

    def run(target: Target) -> dict[str, float]:
        with httpx.Client(timeout=300) as client:
            assert len(client.get(target.path("trial")).json()) >= 10_000
            whole = timed(client, target.path("trial"), 10)
            figures = {
                "whole list of 10,000 p50 ms": statistics.median(whole),
                "whole list of 10,000 p99 ms": _percentile(whole, 0.99),
            }
            if target.name == "ours":
                # 200 pages: with fewer, the p99 is simply the slowest one.
                page = timed(
                    client, f"{target.path('trial')}?limit=100&offset=5000", 200
                )
                figures["page of 100 p50 ms (ours only)"] = statistics.median(page)
                figures["page of 100 p99 ms (ours only)"] = _percentile(page, 0.99)
        return figures

    return _alternate(targets, rounds, run)


def trial_latency(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    def run(target: Target) -> dict[str, float]:
        latencies = []
        with httpx.Client(timeout=60) as client, _client_collector_paused():
            for _ in range(20):
                started = time.perf_counter()
                trial = _post(
                    client, target.path("trial"), {"experiment": target.experiment}
                )
                _wait_terminal(client, target, str(trial["id"]))
                latencies.append((time.perf_counter() - started) * 1000)
        return {"POST /trial -> terminal p50": statistics.median(latencies)}

    return _alternate(targets, rounds, run)


def engine_overhead(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    """A trial of 100 `cm.wait 0` steps: (completed_at - executed_at) / 100."""
    experiments: dict[str, str] = {}
    with httpx.Client(timeout=60) as client:
        for target in targets:
            experiments[target.name] = str(
                _post(
                    client,
                    target.path("experiment"),
                    {"name": "steps", "description": "bench", "steps": [WAIT0] * 100},
                )["id"]
            )

    def run(target: Target) -> dict[str, float]:
        with httpx.Client(timeout=60) as client:
            trial = _post(
                client, target.path("trial"), {"experiment": experiments[target.name]}
            )
            done = _wait_terminal(client, target, str(trial["id"]), poll=0.02)
        took = _instant(done["completed_at"]) - _instant(done["executed_at"])
        return {"engine overhead per step, ms": took.total_seconds() * 1000 / 100}

    return _alternate(targets, rounds, run)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def burst(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    experiments: dict[str, str] = {}
    with httpx.Client(timeout=60) as client:
        for target in targets:
            experiments[target.name] = str(
                _post(
                    client,
                    target.path("experiment"),
                    {"name": "burst", "description": "bench", "steps": [WAIT1]},
                )["id"]
            )

    def run(target: Target, count: int) -> float:
        async def post_all() -> list[str]:
            async with httpx.AsyncClient(timeout=60) as client:
                answers = await asyncio.gather(
                    *(
                        client.post(
                            target.path("trial"),
                            json={"experiment": experiments[target.name]},
                        )
                        for _ in range(count)
                    )
                )
            return [str(a.raise_for_status().json()["id"]) for a in answers]

        # From before the first post to the last trial's `completed_at` (the
        # same clock: one machine): when the trials ended, not when this
        # client, asking one trial at a time, found out.
        started = datetime.now(UTC)
        ids = asyncio.run(post_all())
        with httpx.Client(timeout=60) as client:
            ended = [
                _instant(
                    _wait_terminal(client, target, trial_id, poll=0.02)["completed_at"]
                )
                for trial_id in ids
            ]
        return (max(ended) - started).total_seconds()

    def both(target: Target) -> dict[str, float]:
        figures = {"10 x cm.wait 1 at once, s": run(target, 10)}
        if target.name == "ours":
            figures["100 x cm.wait 1 at once, s (ours only)"] = run(target, 100)
        figures["RSS after bursts, MiB"] = _tree_rss_kib(target.pids) / 1024
        return figures

    return _alternate(targets, rounds, both)


def idle_memory(targets: tuple[Target, Target], rounds: int, seconds: float) -> Any:
    return {
        "idle RSS, all processes, MiB": {
            t.name: [_tree_rss_kib(t.pids) / 1024] for t in targets
        }
    }


FIGURES: dict[str, Callable[[tuple[Target, Target], int, float], Any]] = {
    "idle_memory": idle_memory,
    "post_experiment": post_experiment,
    "get_trial": get_trial,
    "trial_latency": trial_latency,
    "engine_overhead": engine_overhead,
    "burst": burst,
    "trial_list": trial_list,
}

# Whether a bigger value is better, by the metric's wording.
_HIGHER_IS_BETTER = ("rps",)


def _print(figure: str, values: dict[str, dict[str, list[float]]]) -> None:
    for metric, by_target in values.items():
        theirs = by_target.get("Kallisti", [])
        ours = by_target.get("ours", [])

        def text(vals: list[float]) -> str:
            return " / ".join(f"{v:.1f}" for v in vals) if vals else "—"

        ratio = ""
        if theirs and ours and min(ours) > 0 and min(theirs) > 0:
            mine, reference = statistics.median(ours), statistics.median(theirs)
            higher = metric in _HIGHER_IS_BETTER
            better = mine / reference if higher else reference / mine
            ratio = f"{better:6.2f}x"
        label = metric if metric not in ("rps", "p50", "p99") else f"{figure} {metric}"
        if metric in ("p50", "p99"):
            label += " ms"
        print(  # noqa: T201
            f"{label:44s} Kallisti {text(theirs):>22s}  ours {text(ours):>22s} {ratio}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", nargs="*", help=", ".join(FIGURES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    chosen = arguments.figures or list(FIGURES)
    unknown = set(chosen) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    if shutil.which("hey") is None:
        sys.exit("hey is missing: apt-get install hey")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(  # noqa: T201
        "ratio: ours relative to Kallisti, > 1 means ours is better; "
        f"{arguments.rounds} alternating rounds, hey -c 8 -z {arguments.seconds}s"
    )
    with tempfile.TemporaryDirectory(prefix="kallisti-side-by-side-") as folder:
        with both_services(Path(folder)) as targets:
            for name in chosen:
                values = FIGURES[name](targets, arguments.rounds, arguments.seconds)
                _print(name, values)


if __name__ == "__main__":
    main()
