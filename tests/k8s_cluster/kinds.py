"""Per-kind defaults and validation, as the API server applies them on writes.

Only the rules the tests rely on are here; each mirrors the real server's
wording so that clients see the same 422 messages.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from .errors import ApiError
from .resources import Resource

__all__ = ["prepare_new", "prepare_update", "validate_name"]

_DNS_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet"}
_cluster_ips = itertools.count(10)


def validate_name(resource: Resource, name: str) -> None:
    if not name:
        raise ApiError.invalid(
            resource.kind,
            "",
            "metadata.name",
            "Required value: name or generateName is required",
        )
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise ApiError.invalid(
            resource.kind,
            name,
            "metadata.name",
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
            "lower case alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character",
        )


def _validate_workload(kind: str, name: str, spec: Mapping[str, Any]) -> None:
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise ApiError.invalid(
            kind, name, "spec.replicas", f"Invalid value: {replicas!r}"
        )
    if replicas < 0:
        raise ApiError.invalid(
            kind,
            name,
            "spec.replicas",
            f"Invalid value: {replicas}: must be greater than or equal to 0",
        )
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not selector:
        raise ApiError.invalid(kind, name, "spec.selector", "Required value")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        raise ApiError.invalid(
            kind,
            name,
            "spec.template.metadata.labels",
            f"Invalid value: {labels}: `selector` does not match template `labels`",
        )


def _node_status() -> dict[str, Any]:
    conditions = [
        ("Ready", "True", "KubeletReady"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("NetworkUnavailable", "False", "RouteCreated"),
    ]
    return {
        "conditions": [
            {"type": t, "status": s, "reason": r, "message": r}
            for t, s, r in conditions
        ],
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "nodeInfo": {
            "kubeletVersion": "v1.31.0",
            "osImage": "Loopback",
            "architecture": "amd64",
            "operatingSystem": "linux",
            "containerRuntimeVersion": "loopback://1",
            "kernelVersion": "6.0",
            "machineID": "loopback",
            "systemUUID": "loopback",
            "bootID": "loopback",
            "kubeProxyVersion": "v1.31.0",
        },
    }


def prepare_new(resource: Resource, obj: dict[str, Any]) -> None:
    """Fill defaults and validate an object about to be created (422 if invalid)."""
    kind, name = resource.kind, obj["metadata"]["name"]
    spec = obj.get("spec")
    if isinstance(spec, dict) or kind in _WORKLOADS:
        obj["metadata"]["generation"] = 1
    if kind in _WORKLOADS:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        _validate_workload(kind, name, spec)
        obj.setdefault("status", {})
    elif kind == "Pod":
        spec = obj.setdefault("spec", {})
        if not spec.get("containers"):
            raise ApiError.invalid(kind, name, "spec.containers", "Required value")
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            spec["clusterIP"] = f"10.96.0.{next(_cluster_ips) % 250 + 2}"
            spec["clusterIPs"] = [spec["clusterIP"]]
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    elif kind == "Node":
        obj.setdefault("spec", {})
        obj.setdefault("status", _node_status())
        obj["status"].setdefault(
            "addresses",
            [
                {"type": "InternalIP", "address": "10.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
        )


def prepare_update(
    resource: Resource, current: Mapping[str, Any], new: dict[str, Any]
) -> None:
    """Carry over what a client cannot change, bump `generation` on spec changes."""
    metadata = new.setdefault("metadata", {})
    old_meta = current["metadata"]
    for key in ("uid", "creationTimestamp", "name", "namespace"):
        if key in old_meta:
            metadata[key] = old_meta[key]
        else:
            metadata.pop(key, None)
    new["apiVersion"] = current["apiVersion"]
    new["kind"] = current["kind"]
    if "generation" in old_meta:
        changed = new.get("spec") != current.get("spec")
        metadata["generation"] = old_meta["generation"] + (1 if changed else 0)
    if resource.kind in _WORKLOADS:
        _validate_workload(resource.kind, metadata["name"], new.setdefault("spec", {}))
