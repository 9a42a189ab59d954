"""The REST API: routes a request to the store, with authentication and RBAC.

Paths follow the real server: ``/api/v1/...`` for the core group and
``/apis/<group>/<version>/...`` for the others, with ``namespaces/<ns>/`` before
namespaced collections, and the subresources `status`, `scale`, `eviction` and
`log`. Lists honour `labelSelector` and `fieldSelector`; ``watch=true`` streams
events. Every authenticated request is kept in `requests` for tests to inspect.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .auth import Users
from .disruption import check_eviction
from .errors import ApiError, success_status
from .patches import apply_patch
from .resources import RESOURCES, Resource, api_resource_list, find_resource, group_list
from .selectors import parse_field_selector, parse_label_selector
from .store import Store, now_rfc3339, rfc3339_after

__all__ = [
    "LOG_ANNOTATION",
    "TERMINATING_ANNOTATION",
    "ApiServer",
    "RecordedRequest",
    "Request",
    "Response",
]

LOG_ANNOTATION = "loopback.kallisti.dev/log"  # what `pods/<name>/log` returns
# A pod whose containers ignore SIGTERM: deleted, it stays for its grace period.
TERMINATING_ANNOTATION = "loopback.kallisti.dev/ignores-sigterm"

_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-loopback",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_MAX_WATCH_SECONDS = 60.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or str for text/plain
    stream: Iterator[dict[str, Any]] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """What an authenticated client asked for."""

    user: str
    verb: str
    method: str
    path: str
    query: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class _Target:
    resource: Resource
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None


def _served(group: str, plural: str) -> Resource:
    found = find_resource(group, "v1", plural)
    assert found is not None
    return found


PODS = _served("", "pods")
BUDGETS = _served("policy", "poddisruptionbudgets")


class ApiServer:
    """Turns requests into store operations; `handle` never raises."""

    def __init__(self, store: Store, users: Users) -> None:
        self.store = store
        self.users = users
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._requests_lock = threading.Lock()

    def clear_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()

    def handle(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except ApiError as err:
            return Response(err.code, err.status())

    def _handle(self, request: Request) -> Response:
        user = self.users.authenticate(request.headers)
        if user is None:
            raise ApiError.unauthorized()
        parts = [p for p in request.path.split("/") if p]
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return Response(200, "ok")
        if parts == ["version"]:
            return Response(200, _VERSION)
        if parts == ["api"]:
            return Response(200, {"kind": "APIVersions", "versions": ["v1"]})
        if parts == ["apis"]:
            return Response(200, group_list())
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _no_such_path()
        if not rest:
            listing = api_resource_list(group, version)
            if listing is None or request.method != "GET":
                raise _no_such_path()
            return Response(200, listing)
        target = _route(group, version, rest)
        verb = _verb(request.method, target, request.query)
        body = _parse_body(request.body)
        with self._requests_lock:
            self.requests.append(
                RecordedRequest(
                    user, verb, request.method, request.path, request.query, body
                )
            )
        resource_name = target.resource.plural + (
            f"/{target.subresource}" if target.subresource else ""
        )
        if not self.users.allows(user, verb):
            raise ApiError.forbidden(
                user,
                verb,
                resource_name,
                target.resource.group,
                target.name or "",
                target.namespace,
            )
        return self._dispatch(verb, target, request, body)

    def _dispatch(
        self, verb: str, target: _Target, request: Request, body: Any
    ) -> Response:
        resource, sub = target.resource, target.subresource
        if verb == "list":
            return Response(200, self._list(target, request.query))
        if verb == "watch":
            return Response(200, stream=self._watch(target, request.query))
        if verb == "deletecollection":
            return Response(200, self._delete_collection(target, request.query))
        name, ns = target.name or "", target.namespace or ""
        if sub == "eviction" and verb == "create":
            return self._evict(target, body)
        if verb == "create":
            return Response(201, self._render(target, self._create(target, body)))
        if sub == "log" and verb == "get":
            pod = self.store.get(resource, ns, name)
            return Response(
                200, (pod["metadata"].get("annotations") or {}).get(LOG_ANNOTATION, "")
            )
        if sub == "scale":
            return Response(200, self._scale(verb, target, request, body))
        if verb == "get":
            return Response(
                200, self._render(target, self.store.get(resource, ns, name))
            )
        if verb in ("update", "patch"):
            current = self.store.get(resource, ns, name)
            if verb == "patch":
                new = apply_patch(
                    request.headers.get("content-type", ""),
                    current,
                    body,
                    custom=resource.group.endswith("istio.io"),
                )
            else:
                new = _object_body(body)
                if new.get("metadata", {}).get("name") not in (None, name):
                    raise ApiError.bad_request(
                        "the name of the object does not match the name on the URL"
                    )
                new.setdefault("metadata", {})["name"] = name
            # Writes to the main resource cannot change `status`, and the
            # reverse: each has its own endpoint.
            if "status" in resource.subresources:
                if sub == "status":
                    new = {
                        **current,
                        "status": new.get("status", current.get("status")),
                    }
                elif "status" in current:
                    new["status"] = current["status"]
            return Response(
                200, self._render(target, self.store.update(resource, ns, new))
            )
        if verb == "delete":
            return self._delete(target, body)
        raise ApiError.method_not_allowed()

    def _render(self, target: _Target, obj: dict[str, Any]) -> dict[str, Any]:
        obj["apiVersion"] = target.resource.api_version(target.version)
        return obj

    def _list(self, target: _Target, query: Mapping[str, str]) -> dict[str, Any]:
        with self.store.lock:
            items = self.store.list(
                target.resource, target.namespace, _matcher(target, query)
            )
            version = self.store.resource_version
        return {
            "kind": f"{target.resource.kind}List",
            "apiVersion": target.resource.api_version(target.version),
            "metadata": {"resourceVersion": str(version)},
            "items": [self._render(target, item) for item in items],
        }

    def _watch(
        self, target: _Target, query: Mapping[str, str]
    ) -> Iterator[dict[str, Any]]:
        match = _matcher(target, query)
        timeout = min(
            float(query.get("timeoutSeconds") or _MAX_WATCH_SECONDS), _MAX_WATCH_SECONDS
        )
        deadline = time.monotonic() + timeout
        since = query.get("resourceVersion") or "0"
        with self.store.lock:
            epoch = self.store.epoch
            if since == "0":
                initial = self.store.list(target.resource, target.namespace, match)
                version = self.store.resource_version
            else:
                initial, version = [], int(since)
                self.store.events_after(version)  # 410 when too old
        for obj in initial:
            yield {"type": "ADDED", "object": self._render(target, obj)}
        while not self.stopping.is_set() and time.monotonic() < deadline:
            with self.store.changed:
                if self.store.epoch != epoch:
                    return
                events = self.store.events_after(version)
                if not events:
                    self.store.changed.wait(
                        timeout=min(0.2, max(deadline - time.monotonic(), 0))
                    )
                    continue
            for event in events:
                version = event.resource_version
                if (
                    event.resource == target.resource
                    and (
                        target.namespace is None or event.namespace == target.namespace
                    )
                    and match(event.object)
                ):
                    yield {
                        "type": event.type,
                        "object": self._render(target, event.object),
                    }

    def _create(self, target: _Target, body: Any) -> dict[str, Any]:
        obj = _object_body(body)
        sent_ns = obj.get("metadata", {}).get("namespace")
        if target.namespace and sent_ns and sent_ns != target.namespace:
            raise ApiError.bad_request(
                "the namespace of the provided object does not match the namespace "
                "sent on the request"
            )
        if target.resource.group == "apps" and "scale" in target.resource.subresources:
            # The real server always writes `status.replicas` (no omitempty), so
            # a client reading a workload before its controller ran sees 0.
            obj.setdefault("status", {}).setdefault("replicas", 0)
        return self.store.create(target.resource, target.namespace or "", obj)

    def _scale(
        self, verb: str, target: _Target, request: Request, body: Any
    ) -> dict[str, Any]:
        resource, ns, name = target.resource, target.namespace or "", target.name or ""
        current = self.store.get(resource, ns, name)
        scale = _scale_of(current)
        if verb == "get":
            return scale
        if verb == "patch":
            wanted = apply_patch(
                request.headers.get("content-type", ""), scale, body, custom=False
            )
        elif verb == "update":
            wanted = _object_body(body)
        else:
            raise ApiError.method_not_allowed()
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiError.invalid(
                "Scale",
                name,
                "spec.replicas",
                f"Invalid value: {replicas!r}: must be greater than or equal to 0",
            )
        current["spec"]["replicas"] = replicas
        sent_version = (wanted.get("metadata") or {}).get("resourceVersion")
        if sent_version:
            current["metadata"]["resourceVersion"] = sent_version
        return _scale_of(self.store.update(resource, ns, current))

    def _delete(self, target: _Target, options: Any) -> Response:
        resource, ns, name = target.resource, target.namespace or "", target.name or ""
        if resource.kind == "Namespace":
            self._empty_namespace(name)
        if resource.kind == "Pod":
            return Response(
                200, self._render(target, self._delete_pod(ns, name, options))
            )
        gone = self.store.delete(resource, ns, name)
        if resource.kind == "Service" or resource.group.endswith("istio.io"):
            # These answer with the deleted object too (see the API's OpenAPI).
            return Response(200, self._render(target, gone))
        return Response(
            200,
            success_status(
                200, name, resource.group, resource.plural, gone["metadata"]["uid"]
            ),
        )

    def _delete_pod(self, ns: str, name: str, options: Any) -> dict[str, Any]:
        """Delete a pod gracefully; the answer is the pod marked for deletion.

        A pod whose containers ignore SIGTERM (`TERMINATING_ANNOTATION`) and
        that runs on a node stays, with `deletionTimestamp` (now + grace
        period) and `deletionGracePeriodSeconds`, until the kubelet kills it
        at that time (see controllers). Other pods exit on SIGTERM at once,
        so the kubelet's confirmation is folded into this request."""
        with self.store.lock:
            pod = self.store.get(PODS, ns, name)
            metadata = pod["metadata"]
            if metadata.get("deletionTimestamp"):
                return pod  # already terminating: the real server answers so too
            grace = (options or {}).get("gracePeriodSeconds")
            if grace is None:
                grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
            lingers = (
                (metadata.get("annotations") or {}).get(TERMINATING_ANNOTATION)
                and pod["spec"].get("nodeName")
                and grace > 0
            )
            if lingers:
                metadata["deletionTimestamp"] = rfc3339_after(grace)
                metadata["deletionGracePeriodSeconds"] = grace
                return self.store.update(PODS, ns, pod, check_version=False)
            gone = self.store.delete(PODS, ns, name)
            gone["metadata"]["deletionTimestamp"] = now_rfc3339()
            gone["metadata"]["deletionGracePeriodSeconds"] = grace
            return gone

    def _evict(self, target: _Target, body: Any) -> Response:
        """policy/v1 Eviction: a pod deletion its disruption budget may refuse."""
        ns, name = target.namespace or "", target.name or ""
        with self.store.lock:
            pod = self.store.get(PODS, ns, name)
            check_eviction(
                pod,
                self.store.list(BUDGETS, ns),
                self.store.list(PODS, ns),
                lambda kind, owner: self._replicas(kind, ns, owner),
            )
            options = (
                (body or {}).get("deleteOptions") if isinstance(body, dict) else None
            )
            self._delete_pod(ns, name, options)
        return Response(
            201, success_status(201, name, "", "pods", pod["metadata"]["uid"])
        )

    def _replicas(self, kind: str, ns: str, name: str) -> int:
        for resource in RESOURCES:
            if resource.kind == kind and "scale" in resource.subresources:
                owner = self.store.find(resource, ns, name)
                return int((owner or {}).get("spec", {}).get("replicas", 0))
        return 0

    def _empty_namespace(self, namespace: str) -> None:
        with self.store.lock:
            for resource in RESOURCES:
                if resource.namespaced:
                    for obj in self.store.list(resource, namespace):
                        self.store.delete(resource, namespace, obj["metadata"]["name"])

    def _delete_collection(
        self, target: _Target, query: Mapping[str, str]
    ) -> dict[str, Any]:
        with self.store.lock:
            doomed = self.store.list(
                target.resource, target.namespace, _matcher(target, query)
            )
            for obj in doomed:
                self.store.delete(
                    target.resource,
                    obj["metadata"].get("namespace", ""),
                    obj["metadata"]["name"],
                )
        return {
            "kind": f"{target.resource.kind}List",
            "apiVersion": target.resource.api_version(target.version),
            "metadata": {},
            "items": [self._render(target, obj) for obj in doomed],
        }


def _no_such_path() -> ApiError:
    return ApiError(
        404, "NotFound", "the server could not find the requested resource", {}
    )


def _route(group: str, version: str, rest: list[str]) -> _Target:
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        inner = find_resource(group, version, rest[2])
        if inner is not None and inner.namespaced:
            namespace, rest = rest[1], rest[2:]
    resource = find_resource(group, version, rest[0])
    if resource is None or len(rest) > 3:
        raise _no_such_path()
    if resource.namespaced and namespace is None and len(rest) > 1:
        raise _no_such_path()  # a named namespaced object needs its namespace
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and subresource not in resource.subresources:
        raise _no_such_path()
    return _Target(resource, version, namespace, name, subresource)


def _verb(method: str, target: _Target, query: Mapping[str, str]) -> str:
    if target.name is None:
        verbs = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
        verb = verbs.get(method)
        if verb == "list" and query.get("watch") in ("true", "1"):
            return "watch"
    elif target.subresource == "eviction":
        verb = "create" if method == "POST" else None
    else:
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        verb = verbs.get(method)
    if verb is None:
        raise ApiError.method_not_allowed()
    return verb


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as err:
        raise ApiError.bad_request(
            f"the request body is not valid JSON: {err}"
        ) from None


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError.bad_request("the request body must be a JSON object")
    return body


def _matcher(target: _Target, query: Mapping[str, str]) -> Any:
    labels = parse_label_selector(query.get("labelSelector"))
    fields = parse_field_selector(query.get("fieldSelector"), target.resource.fields)
    return lambda obj: labels(obj) and fields(obj)


def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    match_labels = obj["spec"].get("selector", {}).get("matchLabels", {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: obj["metadata"][key]
            for key in (
                "name",
                "namespace",
                "uid",
                "resourceVersion",
                "creationTimestamp",
            )
        },
        "spec": {"replicas": obj["spec"]["replicas"]},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(match_labels.items())),
        },
    }
