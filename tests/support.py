"""Test helpers: databases, a service running in a thread, a probe target.

Servers bind 127.0.0.1 on port 0 and start once per test run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import uvicorn

from kallisti.domain.record import Clock, utc_now
from kallisti.service import Service, build_service
from kallisti.settings import Settings
from loopback_http import LoopbackServer, QuietHandler

__all__ = [
    "POSTGRES_ADMIN_URL",
    "ProbeTarget",
    "ServiceThread",
    "create_postgres_database",
    "drop_postgres_database",
    "end_processes",
    "service_settings",
    "start_serve",
    "wait_for_trial",
]

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TERMINAL = {"Succeeded", "Failed", "Aborted", "Invalid", "Stopped"}


def create_postgres_database() -> str:
    """Create a fresh database on the local server; return its SQLAlchemy URL.

    Fails loudly when the server is not there: PostgreSQL tests never skip.
    """
    name = f"kallisti_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(
            POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as err:
        raise RuntimeError(
            f"PostgreSQL is required at {POSTGRES_ADMIN_URL} for the test suite: {err}"
        ) from err
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ServiceThread:
    """The API and its in-process worker, served by uvicorn on a thread."""

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.clock = clock
        self.service: Service = build_service(settings, clock=clock)
        self.service.store.migrate()
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.service.app,
                host="127.0.0.1",
                port=0,
                log_level="warning",
                lifespan="off",
            )
        )
        self._thread = threading.Thread(
            target=self._run, name="kallisti-api", daemon=True
        )
        self._shutdown: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        worker = None
        if self.service.settings.run_worker:
            worker = asyncio.create_task(self.service.worker.run(self._shutdown))
        try:
            await self._server.serve()
        finally:
            self._shutdown.set()
            if worker is not None:
                await worker

    def start(self) -> ServiceThread:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Kallisti test server did not start")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        socket = self._server.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.service.app.state.kallisti.closing.set()
        self._server.should_exit = True
        self._thread.join(timeout=60)
        self.service.store.close()


def service_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test service: quick polling, a concurrency the tests can
    reach with a few trials, the rest as shipped."""
    values: dict[str, object] = {
        "database_url": database_url,
        "worker_concurrency": 16,
        "poll_interval_seconds": 0.05,
        "stop_check_interval_seconds": 0.05,
        "event_poll_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def wait_for_trial(
    client: httpx.Client,
    trial_id: str,
    *,
    timeout: float = 20.0,
    until: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Poll GET /trial/{id} until it is terminal (or `until` holds)."""
    until = until or (lambda trial: trial["status"] in TERMINAL)
    deadline = time.monotonic() + timeout
    while True:
        trial = client.get(f"/api/v1/trial/{trial_id}").raise_for_status().json()
        if until(trial):
            return trial
        if time.monotonic() > deadline:
            raise AssertionError(f"trial {trial_id} still {trial['status']}: {trial}")
        time.sleep(0.02)


class ProbeTarget(LoopbackServer):
    """A real HTTP server whose answers the test sets: status, body, delay."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {"status": "up"}
        self.delay_seconds = 0.0
        self.requests: list[dict[str, Any]] = []
        target = self

        class Handler(QuietHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                target.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length).decode() if length else "",
                    }
                )
                if target.delay_seconds:
                    time.sleep(target.delay_seconds)
                payload = (
                    target.body
                    if isinstance(target.body, str)
                    else json.dumps(target.body)
                ).encode()
                try:
                    self.send_response(target.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        super().__init__(Handler)

    def reset(self) -> None:
        self.status, self.body, self.delay_seconds = 200, {"status": "up"}, 0.0
        self.requests.clear()


@contextmanager
def running_service(settings: Settings) -> Iterator[ServiceThread]:
    thread = ServiceThread(settings).start()
    try:
        yield thread
    finally:
        thread.stop()


def start_serve(
    args: Sequence[str], env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], str, bytes]:
    """Start a real `kallisti serve` with `args`; return the process, the URL it
    serves on and what it printed until then. The rest of its output stays on
    `process.stdout` for the caller to read (or drain, for a long run)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kallisti", "serve", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen: list[bytes] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if b"Uvicorn running on " in line:
            url = line.split(b"Uvicorn running on ")[1].split()[0].decode()
            return process, url, b"".join(seen)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(b"".join(seen).decode())


def end_processes(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process still running, then wait for all (SIGKILL after 30 s)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
