"""A fleet on PostgreSQL: 1 API process and N worker processes, measured.

Starts `kallisti serve --no-worker` and `kallisti worker` processes on a fresh
database of the local PostgreSQL (127.0.0.1:5432, user postgres), then:

1. idle: transactions and statements per second per worker, counted by the
   server (pg_stat_database, and its statement log), with every worker idle;
2. load: posts `--trials` trials through the API, alternately a probe of a
   local HTTP target (one chaos request per trial, counted by the target) and
   a wait, SIGKILLs one worker in the middle, waits for every trial to end;
3. checks: no trial lost (all terminal), none run twice (at most one chaos
   request per trial), the killed worker's trials recovered (Failed, "was
   lost"), and prints claims/s, trials/s, Scheduled → In Progress p50/p99 and
   how the trials spread over the workers.

    .venv/bin/python -m bench.scale_out                       # 4 processes
    .venv/bin/python -m bench.scale_out --processes 4 --tasks 4   # 16 workers
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

from kallisti.domain.record import result_lines

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TERMINAL = ("Succeeded", "Failed", "Aborted", "Invalid", "Stopped")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def database() -> Iterator[tuple[str, str]]:
    """A fresh database; yields (name, libpq URL)."""
    name = f"kallisti_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def target() -> Iterator[tuple[str, Counter[str]]]:
    """A local HTTP target counting requests per path."""
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                hits[self.path] += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()


class Fleet:
    """The API and worker processes; ends exactly the processes it started."""

    def __init__(self, url: str, logs: Path, lease: float, concurrency: int) -> None:
        self.env = {
            **os.environ,
            "KALLISTI_DATABASE_URL": url,
            "KALLISTI_LEASE_SECONDS": str(lease),
            "KALLISTI_WORKER_CONCURRENCY": str(concurrency),
        }
        self.logs = logs
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api: subprocess.Popen[bytes] | None = None
        self.api_url = ""

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "kallisti", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start_api(self) -> None:
        port = _free_port()
        self.api = self._start("api", "serve", "--no-worker", "--port", str(port))
        self.api_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.api_url}/api/v1/health", timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.api.poll() is not None:
                    raise RuntimeError("the API did not start") from None
                time.sleep(0.1)

    def start_workers(self, processes: int, tasks: int) -> None:
        for index in range(processes):
            self.workers.append(
                self._start(f"worker-{index}", "worker", "--tasks", str(tasks))
            )

    def claims_per_worker_process(self) -> list[int]:
        return [
            (self.logs / f"worker-{index}.log").read_text().count("running trial")
            for index in range(len(self.workers))
        ]

    def stop(self) -> None:
        everyone = [*self.workers, *([self.api] if self.api else [])]
        for process in everyone:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in everyone:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _transactions(conn: psycopg.Connection[Any], name: str) -> int:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
        (name,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def log_statements(name: str) -> None:
    """Have the server log every statement of this database's new sessions."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")


def _server_log() -> Path | None:
    logs = sorted(Path("/var/log/postgresql").glob("postgresql-*-main.log"))
    return logs[-1] if logs and os.access(logs[-1], os.R_OK) else None


_PING = b";"  # what the pool sends before it lends a connection


def idle_rate(name: str, workers: int, seconds: float) -> tuple[float, float | None]:
    """Per worker and second, while every worker is idle: the transactions
    the server counted (pg_stat_database) and the statements it logged,
    BEGIN and COMMIT included, the pool's empty `;` ping not (None when the
    server's log cannot be read)."""
    log = _server_log()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        time.sleep(12)  # start-up work done, its statistics flushed
        before = _transactions(conn, name)
        offset = log.stat().st_size if log else 0
        time.sleep(seconds)
        after = _transactions(conn, name)
    statements = None
    if log is not None:
        with log.open("rb") as lines:
            lines.seek(offset)
            marker = f"@{name} LOG:  ".encode()
            logged = 0
            for line in lines:
                if marker not in line:
                    continue
                if b"statement: " in line:
                    text = line.split(b"statement: ", 1)[1].strip()
                    logged += text != _PING
                elif b"LOG:  execute" in line:
                    logged += 1
        statements = logged / seconds / workers
    return (after - before) / seconds / workers, statements


async def post_trials(api: str, probe: str, count: int, kill: Any) -> list[str]:
    async with httpx.AsyncClient(base_url=api, timeout=60) as client:
        experiments = []
        for steps in (
            [
                {"do": "cm.http_probe", "where": {"url": probe + "/chaos/{{ n }}"}},
                {"do": "cm.wait", "where": {"time_in_seconds": 0.5}},
            ],
            [{"do": "cm.wait", "where": {"time_in_seconds": 0.5}}],
        ):
            answer = await client.post(
                "/api/v1/experiment", json={"name": "fleet", "steps": steps}
            )
            experiments.append(answer.raise_for_status().json()["id"])
        ids: list[str] = []
        lock = asyncio.Lock()

        async def poster(start: int) -> None:
            for n in range(start, count, 8):
                answer = await client.post(
                    "/api/v1/trial",
                    json={"experiment": experiments[n % 2], "parameters": {"n": n}},
                )
                async with lock:
                    ids.append(answer.raise_for_status().json()["id"])
                    if len(ids) == count // 2:
                        kill()

        await asyncio.gather(*(poster(start) for start in range(8)))
        return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=1, help="workers per process")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    arguments = parser.parse_args()
    workers = arguments.processes * arguments.tasks

    with (
        tempfile.TemporaryDirectory(prefix="kallisti-fleet-") as folder,
        database() as (name, url),
        target() as (probe, hits),
    ):
        fleet = Fleet(url, Path(folder), arguments.lease, arguments.concurrency)
        try:
            log_statements(name)
            fleet.start_api()
            fleet.start_workers(arguments.processes, arguments.tasks)
            transactions, statements = idle_rate(name, workers, arguments.idle_seconds)
            print(  # noqa: T201
                f"idle, per worker: {transactions:.2f} transactions/s "
                f"(pg_stat_database), "
                + (
                    f"{statements:.2f} statements/s (server statement log, BEGIN "
                    "and COMMIT included, the pool's empty ping not)"
                    if statements is not None
                    else "server log not readable"
                )
                + f"; {workers} workers in {arguments.processes} processes, "
                f"{arguments.idle_seconds:g} s",
                flush=True,
            )
            killed: dict[str, float] = {}

            def kill() -> None:
                # The worker process holding the most running trials.
                with psycopg.connect(url, autocommit=True) as conn:
                    holders = conn.execute(
                        "SELECT worker_id FROM trials WHERE status = 'In Progress'"
                    ).fetchall()
                pids = Counter(int(row[0].split(":")[1]) for row in holders)
                victim = (
                    next(
                        (p for p in fleet.workers if p.pid == max(pids, key=pids.get)),
                        fleet.workers[0],
                    )
                    if pids
                    else fleet.workers[0]
                )
                victim.send_signal(signal.SIGKILL)
                killed["at"] = time.time()

            started = time.time()
            ids = asyncio.run(post_trials(fleet.api_url, probe, arguments.trials, kill))
            posted = time.time()
            with psycopg.connect(url, autocommit=True) as conn:
                deadline = time.monotonic() + 600
                while True:
                    row = conn.execute(
                        "SELECT count(*) FROM trials WHERE status <> ALL(%s)",
                        (list(TERMINAL),),
                    ).fetchone()
                    assert row is not None
                    if row[0] == 0:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{row[0]} trials never ended")
                    time.sleep(0.2)
                rows = conn.execute(
                    "SELECT id, status, created_at, executed_at, completed_at,"
                    " trial_record FROM trials"
                ).fetchall()
        finally:
            fleet.stop()
        spread = fleet.claims_per_worker_process()

    by_status = Counter(row[1] for row in rows)
    chaos = Counter(path for path, n in hits.items() for _ in range(n))
    twice = [path for path, n in hits.items() if n > 1]
    lost = [
        row
        for row in rows
        if row[1] == "Failed" and "was lost" in " ".join(result_lines(row[5]))
    ]
    waits = [(row[3] - row[2]).total_seconds() * 1000 for row in rows if row[3]]
    executed = [row[3].timestamp() for row in rows if row[3]]
    completed = [row[4].timestamp() for row in rows if row[4]]
    recovery = [row[4].timestamp() - killed["at"] for row in lost]
    print(  # noqa: T201
        f"trials: {len(ids)} posted in {posted - started:.1f} s, "
        f"{len(rows)} stored, statuses {dict(by_status)}\n"
        f"never run twice: {not twice} ({sum(chaos.values())} chaos requests "
        f"for {arguments.trials // 2} probe trials)\n"
        f"worker SIGKILLed mid-run: {len(lost)} trials recovered (Failed, "
        f"'was lost'), the last {max(recovery, default=0):.1f} s after the kill "
        f"(lease {arguments.lease:g} s)\n"
        f"claims/s: {len(executed) / (max(executed) - min(executed)):.0f}   "
        f"trials/s end to end: {len(rows) / (max(completed) - started):.0f}\n"
        f"Scheduled -> In Progress: p50 {statistics.median(waits):.1f} ms, "
        f"p99 {_percentile(waits, 0.99):.1f} ms\n"
        f"trials run per worker process: {spread}",
        flush=True,
    )
    if twice or len(rows) != arguments.trials or set(by_status) - set(TERMINAL):
        sys.exit("FAILED: a trial was lost or ran twice")


if __name__ == "__main__":
    main()
