"""Targets a hostile experiment points at: an endpoint that accepts connections
and never answers, and one that drips its answer slowly or streams forever."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from loopback_http import LoopbackServer, QuietHandler

__all__ = ["BlackHole", "EchoTarget", "StreamingTarget"]


class BlackHole:
    """Accepts every TCP connection on 127.0.0.1 and never sends a byte."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)
            self.accepted += 1

    def start(self) -> BlackHole:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closed.set()
        self._socket.close()
        for connection in self._held:
            connection.close()


class StreamingTarget(LoopbackServer):
    """An HTTP server whose paths stream: `/bytes/<n>` sends n bytes in 1 MiB
    chunks as fast as the reader takes them, `/drip` sends a byte every 0.2 s
    for ever, `/echo-headers` answers the request's headers as JSON."""

    def __init__(self) -> None:
        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                try:
                    if self.path.startswith("/bytes/"):
                        self._bytes(int(self.path.rsplit("/", 1)[1]))
                    elif self.path == "/drip":
                        self._drip()
                    else:
                        self.send_error(404)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _bytes(self, total: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(total))
                self.end_headers()
                chunk = b"x" * (1 << 20)
                left = total
                while left > 0:
                    part = chunk[: min(left, len(chunk))]
                    self.wfile.write(part)
                    left -= len(part)

            def _drip(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                while True:
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.2)

        super().__init__(Handler)


class EchoTarget(LoopbackServer):
    """An HTTP server that answers every request with the request itself as
    JSON (`method`, `path`, `headers`, `body`), as a careless service would:
    `/token...` paths also carry `access_token`, `/fail...` and `/refuse...`
    paths answer 500 and 401."""

    def __init__(self, access_token: str) -> None:
        class Handler(QuietHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                echo: dict[str, Any] = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length).decode(errors="replace"),
                }
                status = 200
                if self.path.startswith("/token"):
                    echo["access_token"] = access_token
                elif self.path.startswith("/fail"):
                    status = 500
                elif self.path.startswith("/refuse"):
                    status = 401
                payload = json.dumps(echo).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _answer

        super().__init__(Handler)
