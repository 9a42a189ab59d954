"""The fault ledger's hooks for `k8s` and `istio`: is a recorded fault still in
place, and undo it.

Kinds of entry (`undo["kind"]`), recorded by the actions before they act:

- `network_policy` (`name`, `ns`): in place while the policy exists; undone by
  deleting it;
- `replicas` (`workload`: deployment or statefulset, `name`, `ns`, `replicas`:
  the count before): in place while the count differs; undone by scaling back;
- `cordon` (`nodes`: those the action made unschedulable): in place while one
  is unschedulable; undone by uncordoning them;
- `virtual_service` (`name`, `ns`, `version`, `faults`: each HTTP route's
  fault before): in place while the routes' faults differ; undone by putting
  the earlier faults back.

An object that no longer exists holds no fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kubernetes import client as k8s

from kallisti.domain.errors import StepFailed
from kallisti.modules.context import Fault, StepContext, target_path
from kallisti.modules.k8s.access import (
    ACCESS_PARAMETERS,
    Cluster,
    ClusterAccess,
    connect,
)

__all__ = [
    "cordon_fault",
    "fault_in_place",
    "network_policy_fault",
    "replicas_fault",
    "revert_fault",
    "route_faults",
    "virtual_service_fault",
]

_ACCESS_NAMES = frozenset(p.name for p in ACCESS_PARAMETERS)
_MERGE_PATCH = "application/merge-patch+json"
_PLURAL = "virtualservices"


def network_policy_fault(cluster: Cluster, name: str, ns: str) -> Fault:
    return Fault(
        target=target_path("k8s", cluster.host, ns, f"networkpolicy:{name}"),
        change=f"network policy {name!r} created in namespace {ns!r}",
        how=f"delete network policy {name!r} in namespace {ns!r}",
        undo={"kind": "network_policy", "name": name, "ns": ns},
    )


def replicas_fault(
    cluster: Cluster, workload: str, name: str, ns: str, previous: int, wanted: int
) -> Fault:
    return Fault(
        target=target_path("k8s", cluster.host, ns, f"{workload}:{name}"),
        change=(
            f"{workload} {name!r} in namespace {ns!r} scaled from {previous} to "
            f"{wanted} replica(s)"
        ),
        how=f"scale {workload} {name!r} in namespace {ns!r} back to {previous}",
        undo={"kind": "replicas", "workload": workload, "name": name, "ns": ns,
              "replicas": previous},
    )  # fmt: skip


def cordon_fault(cluster: Cluster, nodes: list[str]) -> Fault:
    listed = ", ".join(nodes)
    return Fault(
        target=target_path("k8s", cluster.host, "nodes", listed),
        change=f"node(s) {listed} cordoned",
        how=f"uncordon node(s) {listed}",
        undo={"kind": "cordon", "nodes": list(nodes)},
    )


def route_faults(virtual_service: Mapping[str, Any]) -> list[Any]:
    """Each HTTP route's fault (None where it has none), in route order."""
    http = (virtual_service.get("spec") or {}).get("http") or []
    return [route.get("fault") for route in http]


def virtual_service_fault(
    cluster: Cluster,
    name: str,
    ns: str,
    version: str,
    current: Mapping[str, Any],
    describe: str,
) -> Fault:
    return Fault(
        target=target_path("k8s", cluster.host, ns, f"name:{name}"),
        change=f"virtual service {name!r} in namespace {ns!r}: {describe}",
        how=f"restore the HTTP route faults of virtual service {name!r} in "
        f"namespace {ns!r} as they were",
        undo={"kind": "virtual_service", "name": name, "ns": ns,
              "version": version, "faults": route_faults(current)},
    )  # fmt: skip


@contextmanager
def _cluster(where: Mapping[str, Any], step_context: StepContext) -> Iterator[Cluster]:
    access = ClusterAccess(**{k: v for k, v in where.items() if k in _ACCESS_NAMES})
    with connect(access, step_context) as cluster:
        yield cluster


def _missing(err: Exception) -> bool:
    return isinstance(err, k8s.ApiException) and err.status == 404


def _read_virtual_service(cluster: Cluster, undo: Mapping[str, Any]) -> Any:
    group, _, api_version = str(undo["version"]).partition("/")
    return cluster.custom.get_namespaced_custom_object(
        group, api_version, undo["ns"], _PLURAL, undo["name"]
    )


def _in_place(cluster: Cluster, undo: Mapping[str, Any]) -> bool:
    kind = undo.get("kind")
    if kind == "network_policy":
        cluster.networking.read_namespaced_network_policy(undo["name"], undo["ns"])
        return True
    if kind == "replicas":
        reader = (
            cluster.apps.read_namespaced_stateful_set
            if undo["workload"] == "statefulset"
            else cluster.apps.read_namespaced_deployment
        )
        current = reader(undo["name"], undo["ns"]).spec.replicas
        return bool(current != undo["replicas"])
    if kind == "cordon":
        return any(
            cluster.core.read_node(node).spec.unschedulable for node in undo["nodes"]
        )
    if kind == "virtual_service":
        current = _read_virtual_service(cluster, undo)
        return route_faults(current) != list(undo["faults"])
    raise StepFailed(f"Unknown kind of k8s ledger entry: {kind!r}.")


def fault_in_place(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> bool:
    """Whether the recorded fault is still in place (the ledger's check hook)."""
    with _cluster(where, step_context) as cluster:
        try:
            return _in_place(cluster, undo)
        except k8s.ApiException as err:
            if _missing(err):
                return False
            raise cluster.failure(err) or err from err


def _revert(cluster: Cluster, undo: Mapping[str, Any]) -> str:
    kind, name, ns = undo.get("kind"), undo.get("name"), undo.get("ns")
    if kind == "network_policy":
        cluster.networking.delete_namespaced_network_policy(name, ns)
        return f"deleted network policy {name!r} in namespace {ns!r}"
    if kind == "replicas":
        patcher = (
            cluster.apps.patch_namespaced_stateful_set
            if undo["workload"] == "statefulset"
            else cluster.apps.patch_namespaced_deployment
        )
        patcher(name, ns, {"spec": {"replicas": undo["replicas"]}})
        return f"scaled {undo['workload']} {name!r} back to {undo['replicas']}"
    if kind == "cordon":
        for node in undo["nodes"]:
            cluster.core.patch_node(node, {"spec": {"unschedulable": False}})
        return f"uncordoned node(s) {', '.join(undo['nodes'])}"
    if kind == "virtual_service":
        current = _read_virtual_service(cluster, undo)
        http = (current.get("spec") or {}).get("http") or []
        faults = list(undo["faults"])
        if len(http) != len(faults):
            raise StepFailed(
                f"The HTTP routes of virtual service {name!r} changed since the "
                "fault was set; restore their faults by hand."
            )
        for route, fault in zip(http, faults, strict=True):
            route.pop("fault", None)
            if fault is not None:
                route["fault"] = fault
        group, _, api_version = str(undo["version"]).partition("/")
        cluster.custom.patch_namespaced_custom_object(
            group,
            api_version,
            ns,
            _PLURAL,
            name,
            {
                "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                "spec": {"http": http},
            },
            _content_type=_MERGE_PATCH,
        )
        return f"restored the route faults of virtual service {name!r}"
    raise StepFailed(f"Unknown kind of k8s ledger entry: {kind!r}.")


def revert_fault(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> str:
    """Undo the recorded fault (the ledger's revert hook); raises `StepFailed`."""
    with _cluster(where, step_context) as cluster:
        try:
            return _revert(cluster, undo)
        except k8s.ApiException as err:
            raise cluster.failure(err, undo.get("ns")) or StepFailed(str(err)) from err
