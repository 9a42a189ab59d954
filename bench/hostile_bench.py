"""Hostile trials against the embedded default service: does `/health` stay
quick, and does memory stay bounded, while one experiment tries its worst?

    .venv/bin/python -m bench.hostile_bench

Starts `kallisti serve` (SQLite, in-process worker, default settings) on
127.0.0.1 and, at once:
- 40 trials of `k8s.list_pods` against an endpoint that accepts and never
  answers, with `request_timeout: 100000` and a 5 s step time-out;
- a trial posting a 190 KB body of 16,000 secret-named strings to a target
  that echoes it back;
- a trial reading a 1 GB answer;
- a trial whose expectation fails on a 20 MB answer.
While they run, `/health` is asked every 20 ms; its latencies (p50/p99/max)
and the server's RSS (idle, peak, after) are printed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx


class _Targets:
    """The black hole, the echo, the 1 GB stream and the 20 MB body."""

    def __init__(self) -> None:
        self.hole = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._held: list[socket.socket] = []
        threading.Thread(target=self._swallow, daemon=True).start()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                    if self.path.startswith("/bytes/"):
                        total = int(self.path.rsplit("/", 1)[1])
                        self.send_response(200)
                        self.send_header("Content-Length", str(total))
                        self.end_headers()
                        chunk = b"x" * (1 << 20)
                        while total > 0:
                            self.wfile.write(chunk[: min(total, len(chunk))])
                            total -= len(chunk)
                        return
                    payload = body or b"{}"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def _swallow(self) -> None:
        while True:
            try:
                connection, _ = self.hole.accept()
            except OSError:
                return
            self._held.append(connection)

    @property
    def hole_url(self) -> str:
        return f"http://127.0.0.1:{self.hole.getsockname()[1]}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_port}"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kallisti", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if b"Uvicorn running on " in line:
            url = line.split(b"Uvicorn running on ")[1].split()[0].decode()
            threading.Thread(
                target=lambda: [None for _ in process.stdout or []], daemon=True
            ).start()
            return process, url
        if not line:
            raise SystemExit("kallisti serve did not start")


def _trial(api: httpx.Client, name: str, steps: list[dict[str, Any]]) -> str:
    experiment = api.post("/api/v1/experiment", json={"name": name, "steps": steps})
    experiment.raise_for_status()
    trial = api.post("/api/v1/trial", json={"experiment": experiment.json()["id"]})
    trial.raise_for_status()
    return str(trial.json()["id"])


def main() -> None:
    targets = _Targets()
    directory = tempfile.mkdtemp(prefix="kallisti-hostile-")
    token = Path(directory) / "token"
    token.write_text("not-a-real-token")
    env = {**os.environ, "KALLISTI_DATABASE_URL": f"sqlite:///{directory}/k.db"}
    process, url = _serve(env)
    try:
        with httpx.Client(base_url=url, timeout=60) as api:
            for _ in range(50):
                api.get("/api/v1/health")
            time.sleep(1)
            idle = _rss_kib(process.pid)
            # From the first trial's posting: the black holes' 5 s time-outs
            # run from their own start, not from the last trial's posting.
            started = time.monotonic()
            ids: list[str] = []
            for index in range(40):
                ids.append(
                    _trial(
                        api,
                        f"black hole {index}",
                        [
                            {
                                "do": "k8s.list_pods",
                                "timeout_seconds": 5,
                                "where": {
                                    "k8s_api_host": targets.hole_url,
                                    "credentials": {
                                        "type": "TOKEN_FILE",
                                        "token_path": str(token),
                                    },
                                    "request_timeout": 100_000,
                                },
                            }
                        ],
                    )
                )
            keys = [f"key-{index:07d}" for index in range(16_000)]
            ids.append(
                _trial(
                    api,
                    "16,000 secrets",
                    [
                        {
                            "do": "cm.http_request",
                            "where": {
                                "url": f"{targets.http_url}/echo",
                                "method": "POST",
                                "request_body": {"api_keys": keys},
                            },
                        }
                    ],
                )
            )
            ids.append(
                _trial(
                    api,
                    "1 GB answer",
                    [
                        {
                            "do": "cm.http_request",
                            "where": {
                                "url": f"{targets.http_url}/bytes/1000000000",
                                "timeout": 120,
                            },
                        }
                    ],
                )
            )
            ids.append(
                _trial(
                    api,
                    "20 MB expectation",
                    [
                        {
                            "do": "cm.http_request",
                            "where": {"url": f"{targets.http_url}/bytes/20000000"},
                            "expect": [{"operator": "eq", "response_text": "small"}],
                        }
                    ],
                )
            )
            latencies: list[float] = []
            peak = idle
            pending = set(ids)
            while pending and time.monotonic() - started < 300:
                asked = time.perf_counter()
                health = api.get("/api/v1/health")
                latencies.append((time.perf_counter() - asked) * 1000)
                assert health.status_code == 200, health.text
                peak = max(peak, _rss_kib(process.pid))
                if len(latencies) % 10 == 0:
                    for trial_id in list(pending):
                        status = api.get(f"/api/v1/trial/{trial_id}").json()["status"]
                        if status not in ("Scheduled", "In Progress"):
                            pending.discard(trial_id)
                time.sleep(0.02)
            took = time.monotonic() - started
            time.sleep(5)
            after = _rss_kib(process.pid)
            latencies.sort()
            figures = {
                "trials": len(ids),
                "unfinished": len(pending),
                "seconds_from_first_post_until_all_ended": round(took, 1),
                "health_requests": len(latencies),
                "health_p50_ms": round(statistics.median(latencies), 1),
                "health_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
                "health_max_ms": round(latencies[-1], 1),
                "rss_idle_mib": round(idle / 1024, 1),
                "rss_peak_mib": round(peak / 1024, 1),
                "rss_after_mib": round(after / 1024, 1),
            }
            print(json.dumps(figures, indent=2))  # noqa: T201 (the bench's output)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
