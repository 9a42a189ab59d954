"""The kinds the loopback cluster serves, and the discovery documents for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RESOURCES", "Resource", "api_resource_list", "find_resource", "group_list"]


@dataclass(frozen=True)
class Resource:
    """One REST resource: where it lives, what it is called, what it offers."""

    group: str  # "" for the core group
    versions: tuple[str, ...]
    plural: str
    kind: str
    namespaced: bool
    subresources: tuple[str, ...] = ()
    # Field selectors the real API server accepts beyond metadata.name/namespace.
    fields: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        """The name error messages use: `pods`, `deployments.apps`."""
        return self.plural if not self.group else f"{self.plural}.{self.group}"

    def api_version(self, version: str) -> str:
        return version if not self.group else f"{self.group}/{version}"


_ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")

RESOURCES: tuple[Resource, ...] = (
    Resource(
        "", ("v1",), "namespaces", "Namespace", False, ("status",), ("status.phase",)
    ),
    Resource("", ("v1",), "nodes", "Node", False, ("status",), ("spec.unschedulable",)),
    Resource(
        "",
        ("v1",),
        "pods",
        "Pod",
        True,
        ("status", "eviction", "log"),
        ("spec.nodeName", "status.phase", "spec.restartPolicy", "status.podIP"),
    ),
    Resource("", ("v1",), "services", "Service", True, ("status",)),
    Resource("", ("v1",), "secrets", "Secret", True, (), ("type",)),
    Resource("", ("v1",), "configmaps", "ConfigMap", True),
    Resource(
        "",
        ("v1",),
        "events",
        "Event",
        True,
        (),
        ("involvedObject.kind", "involvedObject.name", "reason", "type"),
    ),
    Resource("apps", ("v1",), "deployments", "Deployment", True, ("status", "scale")),
    Resource("apps", ("v1",), "replicasets", "ReplicaSet", True, ("status", "scale")),
    Resource("apps", ("v1",), "statefulsets", "StatefulSet", True, ("status", "scale")),
    Resource("apps", ("v1",), "daemonsets", "DaemonSet", True, ("status",)),
    Resource("networking.k8s.io", ("v1",), "networkpolicies", "NetworkPolicy", True),
    Resource(
        "policy",
        ("v1",),
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        ("status",),
    ),
    Resource("networking.k8s.io", ("v1",), "ingresses", "Ingress", True, ("status",)),
    Resource(
        "networking.istio.io",
        _ISTIO_VERSIONS,
        "virtualservices",
        "VirtualService",
        True,
    ),
    Resource(
        "networking.istio.io",
        _ISTIO_VERSIONS,
        "destinationrules",
        "DestinationRule",
        True,
    ),
)


def find_resource(group: str, version: str, plural: str) -> Resource | None:
    for resource in RESOURCES:
        if (
            resource.group == group
            and resource.plural == plural
            and version in resource.versions
        ):
            return resource
    return None


def resource_of_kind(api_version: str, kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    for resource in RESOURCES:
        if (
            resource.group == group
            and resource.kind == kind
            and version in resource.versions
        ):
            return resource
    return None


def _verbs(resource: Resource) -> list[str]:
    return [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    """`GET /api/v1` or `/apis/<group>/<version>`: the resources served there."""
    served = [r for r in RESOURCES if r.group == group and version in r.versions]
    if not served:
        return None
    entries: list[dict[str, Any]] = []
    for resource in served:
        entries.append(
            {
                "name": resource.plural,
                "singularName": resource.kind.lower(),
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": _verbs(resource),
            }
        )
        for sub in resource.subresources:
            entries.append(
                {
                    "name": f"{resource.plural}/{sub}",
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "kind": "Scale" if sub == "scale" else resource.kind,
                    "verbs": ["get", "patch", "update"]
                    if sub != "eviction"
                    else ["create"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": version if not group else f"{group}/{version}",
        "resources": entries,
    }


def group_list() -> dict[str, Any]:
    """`GET /apis`: every named group and its versions, preferred first."""
    groups: dict[str, tuple[str, ...]] = {}
    for resource in RESOURCES:
        if resource.group:
            groups.setdefault(resource.group, resource.versions)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": name,
                "versions": [
                    {"groupVersion": f"{name}/{v}", "version": v} for v in versions
                ],
                "preferredVersion": {
                    "groupVersion": f"{name}/{versions[0]}",
                    "version": versions[0],
                },
            }
            for name, versions in groups.items()
        ],
    }
