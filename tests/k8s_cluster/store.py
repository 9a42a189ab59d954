"""The cluster's objects: one versioned, thread-safe store, like etcd behind the API.

Every write gets the next `resourceVersion` and is appended to a bounded event
log that watches read from. An object is kept once per kind, whatever API
version it was written through (as the real server does with conversion).
"""

from __future__ import annotations

import builtins
import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ApiError
from .kinds import prepare_new, prepare_update, validate_name
from .resources import Resource, find_resource

__all__ = ["Event", "Store", "now_rfc3339", "rfc3339_after"]

_EVENT_LOG_SIZE = 5000


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_after(seconds: float) -> str:
    """The time `seconds` from now, rounded up to the second (RFC 3339)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """One change, as a watch reports it."""

    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: Resource
    namespace: str
    object: dict[str, Any]


class Store:
    """Objects by kind, namespace and name; all methods return copies."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self._version = 0
        self._events: deque[Event] = deque(maxlen=_EVENT_LOG_SIZE)
        # Bumped by `reset()` so that open watches end instead of spanning tests.
        self.epoch = 0

    @property
    def resource_version(self) -> int:
        return self._version

    def reset(self) -> None:
        with self.lock:
            self._objects.clear()
            self._events.clear()
            self.epoch += 1
            self.changed.notify_all()

    def _bucket(self, resource: Resource) -> dict[tuple[str, str], dict[str, Any]]:
        return self._objects.setdefault((resource.group, resource.plural), {})

    def find(
        self, resource: Resource, namespace: str, name: str
    ) -> dict[str, Any] | None:
        with self.lock:
            found = self._bucket(resource).get((namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        found = self.find(resource, namespace, name)
        if found is None:
            raise ApiError.not_found(resource.qualified, name)
        return found

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        match: Callable[[Mapping[str, Any]], bool] = lambda obj: True,
    ) -> list[dict[str, Any]]:
        """Objects of a kind, in one namespace or all, sorted by namespace and name."""
        with self.lock:
            return [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self._bucket(resource).items())
                if (namespace is None or ns == namespace) and match(obj)
            ]

    def namespace_exists(self, name: str) -> bool:
        namespaces = find_resource("", "v1", "namespaces")
        assert namespaces is not None
        return self.find(namespaces, "", name) is not None

    def create(
        self, resource: Resource, namespace: str, obj: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Store a new object; raises 404 (namespace), 409 (exists) or 422."""
        with self.lock:
            new = copy.deepcopy(dict(obj))
            metadata = new.setdefault("metadata", {})
            if not metadata.get("name") and metadata.get("generateName"):
                metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
            name = metadata.get("name") or ""
            validate_name(resource, name)
            if resource.namespaced:
                if not self.namespace_exists(namespace):
                    raise ApiError.not_found("namespaces", namespace)
                metadata["namespace"] = namespace
            else:
                metadata.pop("namespace", None)
                namespace = ""
            if (namespace, name) in self._bucket(resource):
                raise ApiError.already_exists(resource.qualified, name)
            new["apiVersion"] = resource.api_version(resource.versions[0])
            new["kind"] = resource.kind
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = now_rfc3339()
            metadata.pop("deletionTimestamp", None)
            prepare_new(resource, new)
            self._write(resource, namespace, new, "ADDED")
            return copy.deepcopy(new)

    def update(
        self,
        resource: Resource,
        namespace: str,
        obj: Mapping[str, Any],
        *,
        check_version: bool = True,
    ) -> dict[str, Any]:
        """Replace an object; a stale `resourceVersion` in `obj` gives 409."""
        with self.lock:
            new = copy.deepcopy(dict(obj))
            name = new.get("metadata", {}).get("name", "")
            key = (namespace if resource.namespaced else "", name)
            current = self._bucket(resource).get(key)
            if current is None:
                raise ApiError.not_found(resource.qualified, name)
            sent_version = new.get("metadata", {}).get("resourceVersion")
            if (
                check_version
                and sent_version
                and sent_version != current["metadata"]["resourceVersion"]
            ):
                raise ApiError.conflict(resource.qualified, name)
            prepare_update(resource, current, new)
            if _same_content(current, new):
                return copy.deepcopy(current)
            self._write(resource, key[0], new, "MODIFIED")
            return copy.deepcopy(new)

    def delete(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        """Remove an object at once and return its last state; 404 when absent."""
        with self.lock:
            key = (namespace if resource.namespaced else "", name)
            current = self._bucket(resource).pop(key, None)
            if current is None:
                raise ApiError.not_found(resource.qualified, name)
            self._version += 1
            gone = copy.deepcopy(current)
            gone["metadata"]["resourceVersion"] = str(self._version)
            self._events.append(Event(self._version, "DELETED", resource, key[0], gone))
            self.changed.notify_all()
            return copy.deepcopy(gone)

    def _write(
        self, resource: Resource, namespace: str, obj: dict[str, Any], kind: str
    ) -> None:
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        self._bucket(resource)[(namespace, obj["metadata"]["name"])] = obj
        self._events.append(
            Event(self._version, kind, resource, namespace, copy.deepcopy(obj))
        )
        self.changed.notify_all()

    def events_after(self, version: int) -> builtins.list[Event]:
        """Changes newer than `version`; raises 410 when the log no longer has them."""
        with self.lock:
            if self._events and version < self._events[0].resource_version - 1:
                raise ApiError.gone(f"too old resource version: {version}")
            return [e for e in self._events if e.resource_version > version]


def _same_content(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    strip = ("resourceVersion",)
    old_meta = {k: v for k, v in old.get("metadata", {}).items() if k not in strip}
    new_meta = {k: v for k, v in new.get("metadata", {}).items() if k not in strip}
    return old_meta == new_meta and {
        k: v for k, v in old.items() if k != "metadata"
    } == {k: v for k, v in new.items() if k != "metadata"}
