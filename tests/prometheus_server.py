"""A real Prometheus (Debian's `prometheus`) scraping an exporter the test controls.

Prometheus cannot listen on port 0 and say which port it got, so a free port is
picked just before it starts. It scrapes the exporter every second and keeps
its data in a temporary directory.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from loopback_http import LoopbackServer, QuietHandler

__all__ = ["PROMETHEUS", "MetricExporter", "PrometheusServer"]

PROMETHEUS = "/usr/bin/prometheus"


class MetricExporter(LoopbackServer):
    """Serves ``/metrics`` in the text format with the values the test sets."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        exporter = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                body = "".join(
                    f"{name} {value}\n" for name, value in exporter.values.items()
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """`prometheus` on 127.0.0.1, scraping `exporter` every second."""

    def __init__(self, exporter: MetricExporter) -> None:
        self._exporter = exporter
        self._directory = Path(tempfile.mkdtemp(prefix="kallisti-prometheus-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> PrometheusServer:
        if not Path(PROMETHEUS).exists():
            raise RuntimeError(
                f"{PROMETHEUS} is missing: apt-get install -y prometheus "
                "(scripts/test does)"
            )
        config = self._directory / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: chaos-target\n"
            f"    static_configs:\n      - targets: ['{self._exporter.address}']\n"
        )
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={self._directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._process.returncode}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready within 60 s")

    def wait_for_value(self, query: str, value: float, timeout: float = 30) -> None:
        """Wait until an instant `query` answers `value` (a scrape has happened)."""
        deadline = time.monotonic() + timeout
        seen: Any = None
        while time.monotonic() < deadline:
            answer = httpx.get(
                f"{self.url}/api/v1/query", params={"query": query}, timeout=5
            ).json()
            result = answer["data"]["result"]
            seen = result[0]["value"][1] if result else None
            if seen is not None and float(seen) == value:
                return
            time.sleep(0.2)
        raise AssertionError(f"prometheus still answers {seen!r} for {query}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._directory, ignore_errors=True)
