"""A real HTTP server on 127.0.0.1 whose answer per path a test sets."""

from __future__ import annotations

import json
from typing import Any

from loopback_http import LoopbackServer, QuietHandler

__all__ = ["RoutingServer"]


class RoutingServer(LoopbackServer):
    """A real HTTP server on 127.0.0.1 answering each path as a test sets it:
    ``routes[path] = (status, headers, body)``; other paths answer 404."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], Any]] = {}
        self.paths: list[str] = []
        server = self

        class Handler(QuietHandler):
            def _answer(self) -> None:
                server.paths.append(self.path)
                status, headers, body = server.routes.get(
                    self.path, (404, {}, {"error": "no route"})
                )
                payload = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                for name, value in {
                    "Content-Type": "application/json",
                    **headers,
                }.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

        super().__init__(Handler)
