"""Small builders for the objects tests put in the loopback cluster."""

from __future__ import annotations

from typing import Any

__all__ = [
    "deployment",
    "namespace",
    "network_policy",
    "node",
    "pod",
    "service",
    "statefulset",
    "virtual_service",
]


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def node(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, **(labels or {})},
        },
    }


def _template(labels: dict[str, str], image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def deployment(
    name: str,
    ns: str = "default",
    *,
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    image: str = "registry.example/hello:1",
) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": _template(labels, image),
        },
    }


def statefulset(
    name: str,
    ns: str = "default",
    *,
    replicas: int = 1,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": dict(labels)},
            "template": _template(labels, "registry.example/db:1"),
        },
    }


def pod(
    name: str, ns: str = "default", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A bare pod (no controller: it does not come back once deleted)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
        "spec": {"containers": [{"name": "app", "image": "registry.example/bare:1"}]},
    }


def service(
    name: str, ns: str = "default", selector: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "selector": dict(selector or {"app": name}),
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }


def network_policy(name: str, ns: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def virtual_service(
    name: str, ns: str = "default", *, hosts: tuple[str, ...] = ("reviews",)
) -> dict[str, Any]:
    """A VirtualService with one HTTP route per host, each to subset `v1`."""
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "hosts": list(hosts),
            "http": [
                {"route": [{"destination": {"host": host, "subset": "v1"}}]}
                for host in hosts
            ],
        },
    }


def disruption_budget(
    name: str,
    labels: dict[str, str],
    ns: str = "default",
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
) -> dict[str, Any]:
    """A policy/v1 PodDisruptionBudget over the pods with `labels`."""
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(labels)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }
