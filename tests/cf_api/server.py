"""The Cloud Foundry test API: one threaded HTTP server on 127.0.0.1, port 0."""

from __future__ import annotations

import base64
import json
import re
import shutil
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from k8s_cluster.tls import self_signed
from loopback_http import LoopbackServer, QuietHandler

__all__ = ["CloudFoundryApi", "CloudFoundryApp"]

USERNAME = "chaos-engineer"
PASSWORD = "cf-password-not-for-logs"
CLIENT_ID = "cf"


@dataclass
class CloudFoundryApp:
    guid: str
    name: str
    space_guid: str
    instances: int
    state: str = "STARTED"
    terminated: list[int] = field(default_factory=list)
    bindings: dict[str, str] = field(default_factory=dict)  # guid -> name
    routes: set[str] = field(default_factory=set)


def _guid() -> str:
    return str(uuid.uuid4())


class CloudFoundryApi(LoopbackServer):
    """Orgs, spaces, apps, service bindings and routes; users log in through UAA
    at the same address. `requests` records each call (method, path). With
    `tls`, it serves HTTPS with a self-signed certificate (`ca_pem`)."""

    def __init__(self, *, tls: bool = False) -> None:
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self.orgs: dict[str, str] = {}  # guid -> name
        self.spaces: dict[str, tuple[str, str]] = {}  # guid -> (name, org guid)
        self.apps: dict[str, CloudFoundryApp] = {}
        self.routes: dict[str, tuple[str, str]] = {}  # guid -> (host, space guid)
        self.user_guid = _guid()
        api = self

        class Handler(QuietHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = api._handle(
                    self.command, self.path, dict(self.headers), raw
                )
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        super().__init__(Handler)
        self.ca_pem: bytes | None = None
        self._tls_dir: str | None = None
        if tls:
            self._serve_tls()

    def _serve_tls(self) -> None:
        pair = self_signed("loopback-cloud-foundry")
        self.ca_pem = pair.certificate_pem
        self._tls_dir = tempfile.mkdtemp(prefix="cf-api-")
        cert, key = Path(self._tls_dir, "tls.crt"), Path(self._tls_dir, "tls.key")
        cert.write_bytes(pair.certificate_pem)
        key.write_bytes(pair.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )

    @property
    def url(self) -> str:
        scheme = "https" if self.ca_pem else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        super().stop()
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    # What a test sets up and reads back.

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.tokens.clear()
            self.orgs.clear()
            self.spaces.clear()
            self.apps.clear()
            self.routes.clear()

    def add_org(self, name: str) -> str:
        guid = _guid()
        self.orgs[guid] = name
        return guid

    def add_space(self, name: str, org_guid: str) -> str:
        guid = _guid()
        self.spaces[guid] = (name, org_guid)
        return guid

    def add_app(
        self, name: str, space_guid: str, instances: int = 2
    ) -> CloudFoundryApp:
        app = CloudFoundryApp(_guid(), name, space_guid, instances)
        self.apps[app.guid] = app
        return app

    def add_binding(self, app: CloudFoundryApp, name: str) -> str:
        guid = _guid()
        app.bindings[guid] = name
        return guid

    def add_route(self, host: str, space_guid: str, app: CloudFoundryApp) -> str:
        guid = _guid()
        self.routes[guid] = (host, space_guid)
        app.routes.add(guid)
        return guid

    def app(self, name: str) -> CloudFoundryApp:
        return next(a for a in self.apps.values() if a.name == name)

    def changes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m not in ("GET", "POST")]

    # The API.

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        parts = urlsplit(target)
        path, query = parts.path.rstrip("/"), parse_qs(parts.query)
        with self._lock:
            self.requests.append((method, path))
            if path == "/v2/info" and method == "GET":
                return 200, {
                    "name": "test",
                    "api_version": "2.164.0",
                    "authorization_endpoint": self.url,
                    "token_endpoint": self.url,
                }
            if path == "/oauth/token" and method == "POST":
                return self._token(headers, raw)
            token = headers.get("Authorization", "").partition(" ")[2]
            if token not in self.tokens:
                return 401, _error(1000, "CF-InvalidAuthToken", "Invalid Auth Token")
            body = json.loads(raw) if raw else None
            return self._route(method, path, query, body)

    def _token(self, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        client = base64.b64decode(
            headers.get("Authorization", "Basic ").partition(" ")[2] or b""
        ).decode()
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if client.partition(":")[0] != CLIENT_ID:
            return 401, {"error": "unauthorized", "error_description": "Bad client"}
        if (
            form.get("grant_type") != "password"
            or form.get("username") != USERNAME
            or form.get("password") != PASSWORD
        ):
            return 401, {
                "error": "unauthorized",
                "error_description": "Bad credentials",
            }
        token = f"cf-token-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "refresh_token": f"cf-refresh-{uuid.uuid4().hex}",
            "expires_in": 600,
        }

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        filters = _filters(query)
        if method == "GET" and path == "/v2/organizations":
            return 200, _list(
                self._org(g) for g in self.orgs if _match(self._org(g), filters)
            )
        if method == "GET" and (
            m := re.fullmatch(r"/v2/users/([^/]+)/organizations", path)
        ):
            found = (
                [self._org(g) for g in self.orgs]
                if m.group(1) == self.user_guid
                else []
            )
            return 200, _list(o for o in found if _match(o, filters))
        if method == "GET" and path == "/v2/spaces":
            developer = filters.pop("developer_guid", None)
            spaces = [self._space(g) for g in self.spaces]
            if developer is not None and developer != self.user_guid:
                spaces = []
            return 200, _list(s for s in spaces if _match(s, filters))
        if method == "GET" and path == "/v2/apps":
            apps = [self._app(a) for a in self.apps.values()]
            return 200, _list(a for a in apps if _match(a, filters))
        if method == "GET" and path == "/v2/routes":
            routes = [self._route_resource(g) for g in self.routes]
            return 200, _list(r for r in routes if _match(r, filters))
        if m := re.fullmatch(r"/v2/routes/([^/]+)/apps", path):
            wanted = query.get("app_guid", [None])[0]
            return 200, _list(
                self._app(a)
                for a in self.apps.values()
                if m.group(1) in a.routes and wanted in (None, a.guid)
            )
        if method == "DELETE" and (
            m := re.fullmatch(r"/v2/service_bindings/([^/]+)", path)
        ):
            for app in self.apps.values():
                if app.bindings.pop(m.group(1), None) is not None:
                    return 204, None
            return 404, _error(90004, "CF-ServiceBindingNotFound", "binding not found")
        m = re.fullmatch(r"/v2/apps/([^/]+)(?:/([a-z_]+)(?:/([^/]+))?)?", path)
        if m is None or m.group(1) not in self.apps:
            return 404, _error(10000, "CF-NotFound", "Unknown request")
        return self._app_call(
            method, self.apps[m.group(1)], m.group(2), m.group(3), body
        )

    def _app_call(
        self,
        method: str,
        app: CloudFoundryApp,
        sub: str | None,
        item: str | None,
        body: Any,
    ) -> tuple[int, Any]:
        if sub is None and method == "GET":
            return 200, self._app(app)
        if sub is None and method == "PUT":
            if isinstance(body, dict) and body.get("state") in ("STARTED", "STOPPED"):
                app.state = body["state"]
            return 201, self._app(app)
        if sub is None and method == "DELETE":
            del self.apps[app.guid]
            return 204, None
        if sub in ("instances", "stats") and method == "GET":
            if app.state != "STARTED":
                return 400, _error(
                    220001, "CF-InstancesError", "Instances error: App is stopped"
                )
            if sub == "stats":
                return 200, {
                    str(i): {"state": "RUNNING", "stats": {"name": app.name}}
                    for i in range(app.instances)
                }
            return 200, {
                str(i): {"state": "RUNNING", "since": 1.0} for i in range(app.instances)
            }
        if sub == "instances" and method == "DELETE" and item is not None:
            if not item.isdigit() or int(item) >= app.instances:
                return 400, _error(10001, "CF-InvalidRequest", f"instance {item}")
            app.terminated.append(int(item))
            return 204, None
        if sub == "summary" and method == "GET":
            return 200, {"guid": app.guid, "name": app.name, "state": app.state}
        if sub == "service_bindings" and method == "GET":
            return 200, _list(
                _resource(g, {"name": n, "app_guid": app.guid})
                for g, n in app.bindings.items()
            )
        if sub == "routes" and method == "GET" and item is None:
            return 200, _list(self._route_resource(g) for g in sorted(app.routes))
        if sub == "routes" and item is not None and item in self.routes:
            if method == "DELETE":
                app.routes.discard(item)
                return 204, None
            if method == "PUT":
                app.routes.add(item)
                return 201, self._app(app)
        return 404, _error(10000, "CF-NotFound", "Unknown request")

    def _org(self, guid: str) -> dict[str, Any]:
        return _resource(guid, {"name": self.orgs[guid]})

    def _space(self, guid: str) -> dict[str, Any]:
        name, org = self.spaces[guid]
        return _resource(guid, {"name": name, "organization_guid": org})

    def _app(self, app: CloudFoundryApp) -> dict[str, Any]:
        org = self.spaces[app.space_guid][1]
        return _resource(
            app.guid,
            {
                "name": app.name,
                "space_guid": app.space_guid,
                "organization_guid": org,  # only for filtering, as the v2 API does
                "state": app.state,
                "instances": app.instances,
                "routes_url": f"/v2/apps/{app.guid}/routes",
            },
        )

    def _route_resource(self, guid: str) -> dict[str, Any]:
        host, space = self.routes[guid]
        return _resource(
            guid,
            {
                "host": host,
                "space_guid": space,
                "organization_guid": self.spaces[space][1],
                "apps_url": f"/v2/routes/{guid}/apps",
            },
        )


def _resource(guid: str, entity: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"guid": guid}, "entity": entity}


def _list(resources: Any) -> dict[str, Any]:
    items = list(resources)
    return {
        "total_results": len(items),
        "total_pages": 1,
        "prev_url": None,
        "next_url": None,
        "resources": items,
    }


def _filters(query: dict[str, list[str]]) -> dict[str, str]:
    filters = {}
    for q in query.get("q", []):
        name, _, value = q.partition(":")
        filters[name] = value
    return filters


def _match(resource: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(resource["entity"].get(k) == v for k, v in filters.items())


def _error(code: int, error_code: str, description: str) -> dict[str, Any]:
    return {"code": code, "error_code": error_code, "description": description}
