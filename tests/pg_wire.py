"""A loopback proxy to the local PostgreSQL that notes the statements its
clients send, read from the wire protocol: what the server receives, counted
without the server's statement log.

    with StatementCounter() as counter:
        url = f"postgresql://postgres@127.0.0.1:{counter.port}/db?sslmode=disable"
        ...
        counter.take()  # the statements sent since the last take
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Self

__all__ = ["StatementCounter"]

# Frontend messages sent before the startup message, without a type byte.
_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104


@dataclass
class StatementCounter:
    """A TCP proxy to 127.0.0.1:5432 that notes each statement clients send:
    simple queries ('Q') by their text, extended-protocol executions ('E') by
    the text of the statement they run. Clients must not ask for TLS
    (`sslmode=disable`, `gssencmode=disable`): the proxy reads plain text."""

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

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

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
