"""What an idle `kallisti worker` asks of PostgreSQL, seen on the wire.

A fleet of idle workers must cost the database next to nothing: each poll is
one read that locks nothing (no claim transaction, no BEGIN/COMMIT), and the
heartbeat is one statement. The worker reaches PostgreSQL through a loopback
proxy that reads the client's protocol messages, so the test counts exactly
the statements the server receives.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from support import create_postgres_database, drop_postgres_database, end_processes

POLL_SECONDS = 0.2
# Frontend messages sent before the startup message, without a type byte.
_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104


@dataclass
class StatementCounter:
    """A TCP proxy to 127.0.0.1:5432 that notes each statement clients send:
    simple queries ('Q') by their text, extended-protocol executions ('E') by
    the text of the statement they run."""

    statements: list[str] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def take(self) -> list[str]:
        """The statements noted since the last call."""
        with self._lock:
            taken, self.statements = self.statements, []
        return taken

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", 5432))
            threading.Thread(target=_pipe, args=(server, client), daemon=True).start()
            threading.Thread(
                target=self._read_client, args=(client, server), daemon=True
            ).start()

    def _read_client(self, client: socket.socket, server: socket.socket) -> None:
        prepared: dict[bytes, str] = {}
        bound = ""
        try:
            while True:  # untyped messages until the startup message
                length, code = struct.unpack("!ii", _exactly(client, 8))
                rest = _exactly(client, length - 8)
                server.sendall(struct.pack("!ii", length, code) + rest)
                if code not in (_SSL_REQUEST, _GSSENC_REQUEST):
                    break
            while True:
                kind = _exactly(client, 1)
                (length,) = struct.unpack("!i", _exactly(client, 4))
                body = _exactly(client, length - 4)
                server.sendall(kind + struct.pack("!i", length) + body)
                if kind == b"Q":
                    self._note(body.rstrip(b"\0").decode())
                elif kind == b"P":  # Parse: name, query, ...
                    name, query = body.split(b"\0")[:2]
                    prepared[name] = query.decode()
                elif kind == b"B":  # Bind: portal, statement, ...
                    bound = prepared.get(body.split(b"\0")[1], "")
                elif kind == b"E":
                    self._note(bound)
        except (OSError, struct.error):
            pass
        finally:
            client.close()
            server.close()

    def _note(self, statement: str) -> None:
        with self._lock:
            self.statements.append(statement.strip())


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _pipe(source: socket.socket, destination: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            destination.sendall(chunk)
    except OSError:
        pass
    finally:
        destination.close()


@pytest.fixture
def database_url() -> Iterator[str]:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def counter() -> Iterator[StatementCounter]:
    proxy = StatementCounter()
    proxy.start()
    yield proxy
    proxy.stop()


def test_an_idle_worker_polls_with_one_read_and_opens_no_transaction(
    database_url: str, counter: StatementCounter, tmp_path: Path
) -> None:
    environment = {"KALLISTI_DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "kallisti", "migrate"],
        env={**environment, "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    through_proxy = database_url.replace(":5432/", f":{counter.port}/")
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "kallisti", "worker"],
            env={
                "PATH": "/usr/bin:/bin",
                "KALLISTI_DATABASE_URL": f"{through_proxy}?sslmode=disable"
                "&gssencmode=disable",
                "KALLISTI_LISTEN_POLL_INTERVAL_SECONDS": str(POLL_SECONDS),
                "KALLISTI_POLL_INTERVAL_SECONDS": str(POLL_SECONDS),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT 1 FROM workers").fetchone() is None:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker never beat"
                time.sleep(0.1)
                conn.rollback()
        time.sleep(1)  # start-up (migration check, first claim) is over
        counter.take()
        time.sleep(10 * POLL_SECONDS)
        idle = [s for s in counter.take() if s not in ("", ";")]
    finally:
        end_processes([worker])

    polls = [s for s in idle if s.startswith("SELECT (EXISTS")]
    others = [s for s in idle if s not in polls]
    assert len(polls) >= 3, idle  # it does poll
    transactions = [
        s for s in idle if s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")
    ]
    assert transactions == [], "an idle worker opened transactions"
    # Besides its polls, at most a heartbeat and a look for due schedules.
    assert len(others) <= 2, others
    assert not any("UPDATE trials" in s or "FOR UPDATE" in s for s in idle), idle
