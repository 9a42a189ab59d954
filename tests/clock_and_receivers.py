"""Helpers for the schedule, report and notification tests: a clock the test
moves, a service running on it, and receivers for e-mail and webhooks.

Everything listens on 127.0.0.1, port 0, and is started by the test.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from loopback_http import LoopbackServer, QuietHandler
from support import create_postgres_database, drop_postgres_database

__all__ = [
    "FakeClock",
    "SmtpSink",
    "WebhookReceiver",
    "eventually",
    "fresh_database",
]


class FakeClock:
    """A clock that stands still until the test moves it (thread-safe)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A new, empty database on `backend`; dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'kallisti.db'}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def eventually(check: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    """Call `check` until it returns a truthy value (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout}s (last: {value!r})"
            )
        time.sleep(0.02)


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self._sink.refuse_next > 0:
            self._sink.refuse_next -= 1
            return "451 Try again later"
        content = envelope.content
        assert isinstance(content, bytes)
        self._sink.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(content))
        )
        return "250 OK"


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

    `refuse_next` makes it answer the next N messages with a transient 451.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.refuse_next = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def start(self) -> SmtpSink:
        self._thread.start()
        handler = _SinkHandler(self)

        async def serve() -> asyncio.AbstractServer:
            return await self._loop.create_server(
                lambda: SMTP(handler, hostname="kallisti-test"), "127.0.0.1", 0
            )

        self._server = asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        sockets: Any = getattr(self._server, "sockets", ())
        return int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class WebhookReceiver(LoopbackServer):
    """A real HTTP server that records POSTs; `statuses` scripts its answers
    (popped one per request, then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delay_seconds = 0.0
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "status": status,
                        "at": time.monotonic(),
                    }
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)

    def hook(self, path: str = "/hook") -> str:
        return f"{self.url}{path}"

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        """Requests answered 2xx (to `path`, if given), oldest first."""
        return [
            r
            for r in self.requests
            if r["status"] < 300 and (path is None or r["path"] == path)
        ]

    def payloads(self, path: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.delivered(path)]

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.delay_seconds = 0.0
