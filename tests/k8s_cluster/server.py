"""`LoopbackCluster`: the API served over HTTP(S) on 127.0.0.1, with helpers for tests.

One instance serves for the whole test session; `reset()` gives each test a
fresh cluster: namespaces `default` and `kube-system`, two Ready nodes
(`node-1`, `node-2`), the default users, and an empty request log.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import manifests
from .api import ApiServer, RecordedRequest, Request, Response
from .auth import Users
from .controllers import Controllers
from .resources import Resource, find_resource, resource_of_kind
from .store import Store
from .tls import self_signed

__all__ = ["LoopbackCluster"]


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    api: ApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-stream or failing a TLS handshake is routine.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {
            k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()
        }
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.api.handle(
            Request(self.command, split.path, query, headers, body)
        )
        if response.stream is not None:
            self._send_stream(response)
        else:
            self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _send(self, response: Response) -> None:
        if isinstance(response.body, str):
            payload, content_type = response.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = (
                json.dumps(response.body).encode(),
                "application/json",
            )
        self.send_response(response.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_stream(self, response: Response) -> None:
        assert response.stream is not None
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in response.stream:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class LoopbackCluster:
    """A Kubernetes-API-compatible server on 127.0.0.1 (port 0), HTTP or HTTPS."""

    def __init__(self, *, tls: bool = False) -> None:
        self.store = Store()
        self.users = Users.defaults()
        self.api = ApiServer(self.store, self.users)
        self.controllers = Controllers(self.store)
        self._http = _HttpServer(("127.0.0.1", 0), _Handler)
        self._http.api = self.api
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="loopback-cluster", daemon=True
        )
        self.ca_pem: bytes | None = None
        self._tls_dir: str | None = None
        if tls:
            self._serve_tls()

    def _serve_tls(self) -> None:
        pair = self_signed()
        self.ca_pem = pair.certificate_pem
        self._tls_dir = tempfile.mkdtemp(prefix="loopback-cluster-")
        cert, key = Path(self._tls_dir, "tls.crt"), Path(self._tls_dir, "tls.key")
        cert.write_bytes(pair.certificate_pem)
        key.write_bytes(pair.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        # The handshake runs on the handler's thread, so one silent client
        # cannot hold up the accept loop.
        self._http.socket = context.wrap_socket(
            self._http.socket, server_side=True, do_handshake_on_connect=False
        )

    # -- life cycle ---------------------------------------------------------

    def start(self) -> LoopbackCluster:
        self._thread.start()
        self.controllers.start()
        self.reset()
        return self

    def stop(self) -> None:
        self.api.stopping.set()
        self.store.reset()
        self.controllers.stop()
        self._http.shutdown()
        self._http.server_close()
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def reset(self) -> None:
        """Back to a fresh cluster: default objects, default users, no requests."""
        self.store.reset()
        fresh = Users.defaults()
        self.users.tokens, self.users.passwords = fresh.tokens, fresh.passwords
        self.users.grants, self.users.reviewers = fresh.grants, fresh.reviewers
        for namespace in ("default", "kube-system"):
            self.apply(manifests.namespace(namespace))
        for node in ("node-1", "node-2"):
            self.apply(manifests.node(node))
        self.api.clear_requests()

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.ca_pem else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @staticmethod
    def free_url() -> str:
        """An http URL on 127.0.0.1 where nothing listens (an unreachable API)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # -- test helpers: objects written straight to the store ----------------

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create `obj` (any served kind) as the cluster itself would."""
        resource = resource_of_kind(obj["apiVersion"], obj["kind"])
        if resource is None:
            raise ValueError(f"the loopback cluster does not serve {obj['kind']}")
        namespace = obj.get("metadata", {}).get("namespace", "default")
        return self.store.create(
            resource, namespace if resource.namespaced else "", obj
        )

    def objects(
        self, plural: str, namespace: str | None = None, *, group: str = ""
    ) -> list[dict[str, Any]]:
        return self.store.list(self._resource(group, plural), namespace)

    def find(
        self, plural: str, name: str, namespace: str = "", *, group: str = ""
    ) -> dict[str, Any] | None:
        return self.store.find(self._resource(group, plural), namespace, name)

    def pod_names(self, namespace: str, **labels: str) -> list[str]:
        return [
            pod["metadata"]["name"]
            for pod in self.objects("pods", namespace)
            if all(
                pod["metadata"].get("labels", {}).get(k) == v for k, v in labels.items()
            )
        ]

    def writes(self) -> list[RecordedRequest]:
        """The requests that asked to change something."""
        return [r for r in self.api.requests if r.verb not in ("get", "list", "watch")]

    def settle(self) -> None:
        """Run the controllers once, now (instead of waiting for the loop)."""
        self.controllers.reconcile()

    def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,
        what: str = "condition",
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"loopback cluster: {what} did not hold in {timeout}s"
                )
            time.sleep(0.02)

    def _resource(self, group: str, plural: str) -> Resource:
        for version in ("v1", "v1alpha3"):
            found = find_resource(group, version, plural)
            if found is not None:
                return found
        raise ValueError(f"the loopback cluster does not serve {plural}")
