"""Deployment, replica set and stateful set chaos: scale, delete, restart, read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s

from kallisti.domain.errors import StepFailed
from kallisti.modules.context import StepContext, read_only
from kallisti.modules.k8s.access import Cluster, cluster_action
from kallisti.modules.k8s.arguments import integer, names
from kallisti.modules.k8s.undo import replicas_fault

__all__ = [
    "delete_deployment",
    "delete_replica_set",
    "kill_microservice",
    "read_deployment",
    "read_statefulset",
    "remove_statefulset",
    "rollout_deployment",
    "scale_deployment",
    "scale_microservice",
    "scale_statefulset",
]


def _select(
    lister: Callable[..., Any],
    kind: str,
    *,
    name: str | None,
    label_selector: str | None,
    ns: str,
    cluster: Cluster,
) -> list[str]:
    """Names of the objects a delete targets: by `name`, else by `label_selector`,
    else all in `ns` (as chaostoolkit-kubernetes does); raises `StepFailed` when
    none matches."""
    if name:
        found = lister(ns, field_selector=f"metadata.name={name}")
        what = f"named {name!r}"
    elif label_selector:
        found = lister(ns, label_selector=label_selector)
        what = f"matching label_selector {label_selector!r}"
    else:
        found = lister(ns)
        what = "at all"
    selected = names(found.items)
    if not selected:
        cluster.require_namespace(ns)
        raise StepFailed(f"No {kind} {what} in namespace {ns!r}.")
    return selected


def _delete_all(
    cluster: Cluster,
    deleter: Callable[..., Any],
    kind: str,
    selected: list[str],
    ns: str,
    dry_run: bool,
    step_context: StepContext,
) -> list[str]:
    if dry_run:
        step_context.log(
            f"Dry run: would delete {kind} in namespace {ns!r}: {', '.join(selected)}. "
            "Nothing was changed."
        )
        return selected
    for name in selected:
        deleter(name, ns, body=k8s.V1DeleteOptions())
    step_context.log(f"Deleted {kind} in namespace {ns!r}: {', '.join(selected)}.")
    return selected


def _scale(
    cluster: Cluster,
    kind: str,
    reader: Callable[..., Any],
    patcher: Callable[..., Any],
    name: str,
    replicas: Any,
    ns: str,
    dry_run: bool,
    step_context: StepContext,
) -> dict[str, Any]:
    wanted = integer("replicas", replicas, minimum=0)
    current = reader(name, ns)
    previous = current.spec.replicas
    result = {
        "name": name,
        "namespace": ns,
        "replicas": wanted,
        "previous_replicas": previous,
    }
    if dry_run:
        step_context.log(
            f"Dry run: would scale {kind} {name!r} in namespace {ns!r} from "
            f"{previous} to {wanted} replica(s). Nothing was changed."
        )
        return result
    if previous != wanted:
        step_context.record_fault(
            replicas_fault(cluster, kind, name, ns, previous, wanted)
        )
    patcher(name, ns, {"spec": {"replicas": wanted}})
    step_context.log(
        f"Scaled {kind} {name!r} in namespace {ns!r} from {previous} to {wanted} "
        "replica(s)."
    )
    return result


@cluster_action
def scale_deployment(
    cluster: Cluster,
    *,
    name: str,
    replicas: int,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Set deployment `name`'s replicas; returns ``{"name", "namespace",
    "replicas", "previous_replicas"}``. Raises `StepFailed` when the deployment
    or namespace does not exist."""
    return _scale(
        cluster,
        "deployment",
        cluster.apps.read_namespaced_deployment,
        cluster.apps.patch_namespaced_deployment,
        name,
        replicas,
        ns,
        dry_run,
        step_context,
    )


@cluster_action
def scale_statefulset(
    cluster: Cluster,
    *,
    name: str,
    replicas: int,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Set stateful set `name`'s replicas; returns like `scale_deployment`."""
    return _scale(
        cluster,
        "stateful set",
        cluster.apps.read_namespaced_stateful_set,
        cluster.apps.patch_namespaced_stateful_set,
        name,
        replicas,
        ns,
        dry_run,
        step_context,
    )


# Kallisti 1.x's name for it.
scale_microservice = scale_deployment


@cluster_action
def delete_deployment(
    cluster: Cluster,
    *,
    name: str | None = None,
    ns: str = "default",
    label_selector: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Delete deployments by `name`, else `label_selector`, else all in `ns`
    (their replica sets and pods go with them). Returns the deleted names;
    raises `StepFailed` when none matches."""
    selected = _select(
        cluster.apps.list_namespaced_deployment,
        "deployment",
        name=name,
        label_selector=label_selector,
        ns=ns,
        cluster=cluster,
    )
    return _delete_all(
        cluster,
        cluster.apps.delete_namespaced_deployment,
        "deployment(s)",
        selected,
        ns,
        dry_run,
        step_context,
    )


@cluster_action
def delete_replica_set(
    cluster: Cluster,
    *,
    name: str | None = None,
    ns: str = "default",
    label_selector: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Delete replica sets by `name`, else `label_selector`, else all in `ns`.
    Returns the deleted names; raises `StepFailed` when none matches."""
    selected = _select(
        cluster.apps.list_namespaced_replica_set,
        "replica set",
        name=name,
        label_selector=label_selector,
        ns=ns,
        cluster=cluster,
    )
    return _delete_all(
        cluster,
        cluster.apps.delete_namespaced_replica_set,
        "replica set(s)",
        selected,
        ns,
        dry_run,
        step_context,
    )


@cluster_action
def remove_statefulset(
    cluster: Cluster,
    *,
    name: str | None = None,
    ns: str = "default",
    label_selector: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Delete stateful sets by `name`, else `label_selector`, else all in `ns`.
    Returns the deleted names; raises `StepFailed` when none matches."""
    selected = _select(
        cluster.apps.list_namespaced_stateful_set,
        "stateful set",
        name=name,
        label_selector=label_selector,
        ns=ns,
        cluster=cluster,
    )
    return _delete_all(
        cluster,
        cluster.apps.delete_namespaced_stateful_set,
        "stateful set(s)",
        selected,
        ns,
        dry_run,
        step_context,
    )


@cluster_action
def kill_microservice(
    cluster: Cluster,
    *,
    name: str,
    ns: str = "default",
    label_selector: str = "name in ({name})",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, list[str]]:
    """Deprecated (chaostoolkit-kubernetes): delete deployment `name`, then the
    replica sets and pods matching `label_selector` (``{name}`` is replaced by
    `name`). Returns the names deleted per kind; raises `StepFailed` when
    nothing matched at all."""
    selector = label_selector.format(name=name)
    deployments = names(
        cluster.apps.list_namespaced_deployment(
            ns, field_selector=f"metadata.name={name}"
        ).items
    )
    replica_sets = names(
        cluster.apps.list_namespaced_replica_set(ns, label_selector=selector).items
    )
    pods = names(cluster.core.list_namespaced_pod(ns, label_selector=selector).items)
    result = {"deployments": deployments, "replica_sets": replica_sets, "pods": pods}
    if not any(result.values()):
        cluster.require_namespace(ns)
        raise StepFailed(
            f"Nothing to kill: no deployment named {name!r} and nothing matching "
            f"label_selector {selector!r} in namespace {ns!r}."
        )
    if dry_run:
        step_context.log(
            f"Dry run: would delete {result} in namespace {ns!r}. Nothing was changed."
        )
        return result
    for deployment in deployments:
        cluster.apps.delete_namespaced_deployment(
            deployment, ns, body=k8s.V1DeleteOptions()
        )
    for replica_set in replica_sets:
        try:
            cluster.apps.delete_namespaced_replica_set(
                replica_set, ns, body=k8s.V1DeleteOptions()
            )
        except k8s.ApiException as err:
            if err.status != 404:  # collected with its deployment
                raise
    for pod in pods:
        try:
            cluster.core.delete_namespaced_pod(pod, ns)
        except k8s.ApiException as err:
            if err.status != 404:  # gone with its replica set
                raise
    step_context.log(f"Deleted {result} in namespace {ns!r}.")
    return result


@cluster_action
def rollout_deployment(
    cluster: Cluster,
    *,
    name: str,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Restart deployment `name`'s pods as ``kubectl rollout restart`` does (a new
    `restartedAt` annotation on the pod template). Returns ``{"name",
    "namespace", "restarted_at"}``; raises `StepFailed` when it does not exist."""
    cluster.apps.read_namespaced_deployment(name, ns)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = {"name": name, "namespace": ns, "restarted_at": now}
    if dry_run:
        step_context.log(
            f"Dry run: would restart deployment {name!r} in namespace {ns!r}. "
            "Nothing was changed."
        )
        return result
    body = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}
            }
        }
    }
    cluster.apps.patch_namespaced_deployment(name, ns, body)
    step_context.log(f"Restarted deployment {name!r} in namespace {ns!r}.")
    return result


def _workload_summary(obj: Any) -> dict[str, Any]:
    status = obj.status
    return {
        "name": obj.metadata.name,
        "namespace": obj.metadata.namespace,
        "replicas": obj.spec.replicas,
        "ready_replicas": status.ready_replicas or 0,
        "available_replicas": status.available_replicas or 0,
        "updated_replicas": status.updated_replicas or 0,
        "observed_generation": status.observed_generation,
        "generation": obj.metadata.generation,
        "labels": dict(obj.metadata.labels or {}),
    }


@read_only
@cluster_action
def read_deployment(
    cluster: Cluster, *, name: str, ns: str = "default"
) -> dict[str, Any]:
    """Read deployment `name` for `expect`: ``{"name", "namespace", "replicas",
    "ready_replicas", "available_replicas", "updated_replicas",
    "observed_generation", "generation", "labels", "available"}`` where
    `available` is true when every wanted replica is available. Raises
    `StepFailed` when it does not exist."""
    summary = _workload_summary(cluster.apps.read_namespaced_deployment(name, ns))
    summary["available"] = summary["available_replicas"] == summary["replicas"]
    return summary


@read_only
@cluster_action
def read_statefulset(
    cluster: Cluster, *, name: str, ns: str = "default"
) -> dict[str, Any]:
    """Read stateful set `name` for `expect` (same shape as `read_deployment`)."""
    summary = _workload_summary(cluster.apps.read_namespaced_stateful_set(name, ns))
    summary["available"] = summary["available_replicas"] == summary["replicas"]
    return summary
