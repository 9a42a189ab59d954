"""Node chaos: cordon, uncordon, drain and delete nodes.

These actions act on the whole cluster; `drain_nodes` in particular evicts
every managed pod from the chosen nodes. Pair them with `uncordon_node` in the
experiment's post steps.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from kubernetes import client as k8s

from kallisti.domain.errors import StepFailed
from kallisti.modules.context import StepContext
from kallisti.modules.k8s.access import Cluster, cluster_action
from kallisti.modules.k8s.arguments import integer, names
from kallisti.modules.k8s.undo import cordon_fault

__all__ = ["cordon_node", "delete_nodes", "drain_nodes", "uncordon_node"]

_DRAIN_POLL_SECONDS = 0.5


def _select_nodes(
    cluster: Cluster,
    *,
    name: str | None = None,
    label_selector: str | None = None,
    count: int | None = None,
    pod_label_selector: str | None = None,
    pod_namespace: str | None = None,
    first: bool = False,
) -> list[Any]:
    """Nodes by `name` and/or `label_selector` (all when neither), narrowed to
    those running pods matching `pod_label_selector` in `pod_namespace`, then
    the first one or `count` random ones. Raises `StepFailed` when none matches."""
    field_selector = f"metadata.name={name}" if name else None
    nodes: list[Any] = list(
        cluster.core.list_node(
            field_selector=field_selector, label_selector=label_selector or None
        ).items
    )
    if pod_label_selector and pod_namespace:
        pods = cluster.core.list_namespaced_pod(
            pod_namespace, label_selector=pod_label_selector
        )
        hosting = {pod.spec.node_name for pod in pods.items}
        nodes = [node for node in nodes if node.metadata.name in hosting]
    if not nodes:
        criteria = [
            f"{label} {value!r}"
            for label, value in (
                ("name", name),
                ("label_selector", label_selector),
                ("pod_label_selector", pod_label_selector),
            )
            if value
        ]
        raise StepFailed(f"No nodes match {' and '.join(criteria) or 'anything'}.")
    nodes.sort(key=lambda node: node.metadata.name)
    if first:
        return nodes[:1]
    if count is not None:
        return random.sample(nodes, min(count, len(nodes)))
    return nodes


def _set_unschedulable(
    cluster: Cluster,
    name: str | None,
    label_selector: str | None,
    unschedulable: bool,
    dry_run: bool,
    step_context: StepContext,
) -> list[str]:
    selected = _select_nodes(cluster, name=name, label_selector=label_selector)
    chosen = names(selected)
    verb = "cordon" if unschedulable else "uncordon"
    if dry_run:
        step_context.log(
            f"Dry run: would {verb} node(s) {', '.join(chosen)}. Nothing was changed."
        )
        return chosen
    if unschedulable:
        _record_cordon(cluster, selected, step_context)
    for node in chosen:
        cluster.core.patch_node(node, {"spec": {"unschedulable": unschedulable}})
    step_context.log(f"{verb.capitalize()}ed node(s): {', '.join(chosen)}.")
    return chosen


def _record_cordon(
    cluster: Cluster, nodes: list[Any], step_context: StepContext
) -> None:
    # Only the nodes this action cordons: one cordoned before stays so.
    fresh = [n.metadata.name for n in nodes if not n.spec.unschedulable]
    if fresh:
        step_context.record_fault(cordon_fault(cluster, fresh))


@cluster_action
def cordon_node(
    cluster: Cluster,
    *,
    name: str | None = None,
    label_selector: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Mark the nodes matching `name`/`label_selector` unschedulable; returns
    their names. Raises `StepFailed` when none matches."""
    return _set_unschedulable(
        cluster, name, label_selector, True, dry_run, step_context
    )


@cluster_action
def uncordon_node(
    cluster: Cluster,
    *,
    name: str | None = None,
    label_selector: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Make the nodes matching `name`/`label_selector` schedulable again;
    returns their names. Raises `StepFailed` when none matches."""
    return _set_unschedulable(
        cluster, name, label_selector, False, dry_run, step_context
    )


def _eviction_candidates(
    cluster: Cluster, node: str, delete_pods_with_local_storage: bool
) -> list[Any]:
    """The pods `kubectl drain --ignore-daemonsets` would evict from `node`."""
    candidates = []
    pods = cluster.core.list_pod_for_all_namespaces(
        field_selector=f"spec.nodeName={node}"
    )
    for pod in pods.items:
        annotations = pod.metadata.annotations or {}
        owners = [ref for ref in pod.metadata.owner_references or [] if ref.controller]
        if "kubernetes.io/config.mirror" in annotations:
            continue
        if any(owner.kind == "DaemonSet" for owner in owners):
            continue
        if pod.status.phase in ("Succeeded", "Failed"):
            candidates.append(pod)
            continue
        if any(volume.empty_dir is not None for volume in pod.spec.volumes or []):
            if delete_pods_with_local_storage:
                candidates.append(pod)
            continue
        if not owners:
            raise StepFailed(
                f"Pod {pod.metadata.namespace}/{pod.metadata.name} on node {node!r} "
                "has no controller, so draining would lose it; delete it first."
            )
        candidates.append(pod)
    return candidates


def _wait_gone(
    cluster: Cluster, pods: list[Any], remaining: float, timeout: float
) -> None:
    deadline = time.monotonic() + remaining
    pending = list(pods)
    while pending:
        still = []
        for pod in pending:
            try:
                current = cluster.core.read_namespaced_pod(
                    pod.metadata.name, pod.metadata.namespace
                )
            except k8s.ApiException as err:
                if err.status == 404:
                    continue
                raise
            if current.metadata.uid == pod.metadata.uid:
                still.append(pod)
        pending = still
        if pending and time.monotonic() > deadline:
            raise StepFailed(
                f"Draining did not finish within {timeout:g}s; pods still there: "
                + ", ".join(
                    f"{p.metadata.namespace}/{p.metadata.name}" for p in pending
                )
            )
        if pending:
            time.sleep(_DRAIN_POLL_SECONDS)


@cluster_action
def drain_nodes(
    cluster: Cluster,
    *,
    name: str | None = None,
    label_selector: str | None = None,
    delete_pods_with_local_storage: bool = False,
    timeout: int = 120,
    count: int | None = None,
    pod_label_selector: str | None = None,
    pod_namespace: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Cordon the chosen nodes and evict their pods, as ``kubectl drain
    --ignore-daemonsets`` does, then wait up to `timeout` seconds for the pods
    to go. An eviction a disruption budget refuses (429) is retried until the
    timeout, then the step fails naming the budget. Returns the drained nodes'
    names. Raises `StepFailed` when no node matches, a pod has no controller,
    or the evictions or pods outlive the timeout."""
    wait_seconds = integer("timeout", timeout, minimum=0)
    nodes = names(
        _select_nodes(
            cluster,
            name=name,
            label_selector=label_selector,
            count=None if count is None else integer("count", count, minimum=1),
            pod_label_selector=pod_label_selector,
            pod_namespace=pod_namespace,
        )
    )
    plan = {
        node: _eviction_candidates(cluster, node, delete_pods_with_local_storage)
        for node in nodes
    }
    evictions = {
        node: [f"{p.metadata.namespace}/{p.metadata.name}" for p in pods]
        for node, pods in plan.items()
    }
    if dry_run:
        step_context.log(
            f"Dry run: would cordon and drain node(s) {', '.join(nodes)}, evicting "
            f"{evictions}. Nothing was changed."
        )
        return nodes
    deadline = time.monotonic() + wait_seconds
    _record_cordon(
        cluster, [cluster.core.read_node(node) for node in nodes], step_context
    )
    for node in nodes:
        cluster.core.patch_node(node, {"spec": {"unschedulable": True}})
    for pods in plan.values():
        for pod in pods:
            _evict(cluster, pod, deadline, wait_seconds, nodes)
    step_context.log(f"Cordoned node(s) {', '.join(nodes)} and evicted {evictions}.")
    _wait_gone(
        cluster,
        [pod for pods in plan.values() for pod in pods],
        max(deadline - time.monotonic(), 0),
        wait_seconds,
    )
    return nodes


def _refusal(err: k8s.ApiException) -> str:
    """Why the API refused an eviction: the disruption budget's own words."""
    try:
        body = json.loads(err.body or "")
        causes = body.get("details", {}).get("causes") or []
        reasons = [str(c["message"]) for c in causes if c.get("message")]
        return "; ".join(reasons) or str(body.get("message") or err.reason)
    except (TypeError, ValueError, AttributeError, KeyError):
        return str(err.reason or f"HTTP {err.status}")


def _evict(
    cluster: Cluster, pod: Any, deadline: float, timeout: int, nodes: list[str]
) -> None:
    """Evict `pod`, retrying while the API answers 429 (a disruption budget
    forbids it for now), as ``kubectl drain`` does, until `deadline`."""
    name, ns = pod.metadata.name, pod.metadata.namespace
    eviction = k8s.V1Eviction(
        metadata=k8s.V1ObjectMeta(name=name, namespace=ns),
        delete_options=k8s.V1DeleteOptions(),
    )
    while True:
        try:
            cluster.core.create_namespaced_pod_eviction(name, ns, body=eviction)
            return
        except k8s.ApiException as err:
            if err.status == 404:
                return  # gone already
            if err.status != 429:
                raise
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"Draining stopped: the Kubernetes API refused to evict pod "
                    f"{ns}/{name} for {timeout}s (429): {_refusal(err)}. Node(s) "
                    f"{', '.join(nodes)} stay cordoned; uncordon them in post steps."
                ) from None
        time.sleep(_DRAIN_POLL_SECONDS)


@cluster_action
def delete_nodes(
    cluster: Cluster,
    *,
    label_selector: str | None = None,
    all: bool = False,
    rand: bool = False,
    count: int | None = None,
    grace_period_seconds: int | None = None,
    pod_label_selector: str | None = None,
    pod_namespace: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Delete nodes (not drained first): all matching ones (`all`), one random
    one (`rand`), `count` random ones, or else the first one. Nodes cannot be
    brought back by Kallisti. Returns the deleted names; raises `StepFailed`
    when none matches."""
    wanted = None if count is None else integer("count", count, minimum=1)
    if rand:
        wanted = 1
    first = not all and wanted is None
    nodes = names(
        _select_nodes(
            cluster,
            label_selector=label_selector,
            count=None if all else wanted,
            pod_label_selector=pod_label_selector,
            pod_namespace=pod_namespace,
            first=first,
        )
    )
    if dry_run:
        step_context.log(
            f"Dry run: would delete node(s) {', '.join(nodes)}. Nothing was changed."
        )
        return nodes
    grace = (
        None
        if grace_period_seconds is None
        else integer("grace_period_seconds", grace_period_seconds, minimum=0)
    )
    for node in nodes:
        cluster.core.delete_node(node, grace_period_seconds=grace)
    step_context.log(f"Deleted node(s): {', '.join(nodes)}.")
    return nodes
