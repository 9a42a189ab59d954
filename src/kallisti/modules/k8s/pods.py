"""Pod chaos: terminate pods by label and name, and read pods back for `expect`."""

from __future__ import annotations

import math
import random
import re
from typing import Any

from kubernetes import client as k8s

from kallisti.domain.errors import InvalidArguments, StepFailed
from kallisti.modules.context import StepContext, read_only
from kallisti.modules.k8s.access import Cluster, cluster_action
from kallisti.modules.k8s.arguments import choice, integer, names

__all__ = ["delete_pods", "list_pods", "terminate_pods"]


def _describe_selection(label_selector: str | None, name_pattern: str | None) -> str:
    parts = []
    if label_selector:
        parts.append(f"label_selector {label_selector!r}")
    if name_pattern:
        parts.append(f"name_pattern {name_pattern!r}")
    return " and ".join(parts) or "no selector (every pod)"


def _matching_pods(
    cluster: Cluster, ns: str, label_selector: str | None, name_pattern: str | None
) -> list[Any]:
    try:
        pattern = re.compile(name_pattern) if name_pattern else None
    except re.error as err:
        raise InvalidArguments(
            f"`name_pattern` is not a valid regular expression: {err}"
        ) from None
    listed = cluster.core.list_namespaced_pod(ns, label_selector=label_selector or None)
    return [
        pod
        for pod in listed.items
        # A pod already being deleted is no longer a target.
        if pod.metadata.deletion_timestamp is None
        and (pattern is None or pattern.search(pod.metadata.name))
    ]


def _select_pods(
    cluster: Cluster,
    *,
    label_selector: str | None,
    name_pattern: str | None,
    all: bool,
    rand: bool,
    mode: str,
    qty: Any,
    ns: str,
    order: str,
) -> list[Any]:
    """The pods a pod action targets, chosen as chaostoolkit-kubernetes does.

    Matching pods are sorted by name (``order: alphabetic``) or creation time
    (``oldest``); then all of them (`all`), or `qty` of them (`mode: fixed`) or
    `qty` percent rounded up (`mode: percentage`), the first ones or a random
    sample (`rand`). Raises `StepFailed` when no pod matches (naming a missing
    namespace as such) and `InvalidArguments` for bad arguments.
    """
    mode = choice("mode", mode, ("fixed", "percentage"))
    order = choice("order", order, ("alphabetic", "oldest"))
    count = integer("qty", qty, minimum=0)
    if mode == "percentage" and count > 100:
        raise InvalidArguments(
            f"`qty` is a percentage in mode 'percentage': 0 to 100, not {count}."
        )
    pods = _matching_pods(cluster, ns, label_selector, name_pattern)
    if not pods:
        cluster.require_namespace(ns)
        raise StepFailed(
            f"No pods match {_describe_selection(label_selector, name_pattern)} in "
            f"namespace {ns!r}."
        )
    if order == "oldest":
        pods.sort(key=lambda pod: (pod.metadata.creation_timestamp, pod.metadata.name))
    else:
        pods.sort(key=lambda pod: pod.metadata.name)
    if all:
        return pods
    if mode == "percentage":
        count = math.ceil(count * len(pods) / 100)
    count = min(count, len(pods))
    return random.sample(pods, count) if rand else pods[:count]


@cluster_action
def terminate_pods(
    cluster: Cluster,
    *,
    label_selector: str | None = None,
    name_pattern: str | None = None,
    all: bool = False,
    rand: bool = False,
    mode: str = "fixed",
    qty: int = 1,
    grace_period: int = -1,
    ns: str = "default",
    order: str = "alphabetic",
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Terminate pods of namespace `ns` chosen by `_select_pods`.

    `grace_period` (seconds) is sent when 0 or more; otherwise each pod's own
    grace period applies. Returns the names of the terminated pods (in a dry
    run: of the pods that would be, with nothing deleted). Raises `StepFailed`
    when no pod matches, the namespace is missing, or the API refuses.
    """
    grace = integer("grace_period", grace_period)
    pods = _select_pods(
        cluster,
        label_selector=label_selector,
        name_pattern=name_pattern,
        all=all,
        rand=rand,
        mode=mode,
        qty=qty,
        ns=ns,
        order=order,
    )
    chosen = names(pods)
    grace_text = (
        f"grace period {grace}s" if grace >= 0 else "each pod's own grace period"
    )
    if dry_run:
        step_context.log(
            f"Dry run: would terminate {len(chosen)} pod(s) in namespace {ns!r} "
            f"({grace_text}): {', '.join(chosen) or 'none'}. Nothing was changed."
        )
        return chosen
    options = k8s.V1DeleteOptions(grace_period_seconds=grace) if grace >= 0 else None
    terminated = []
    for name in chosen:
        try:
            cluster.core.delete_namespaced_pod(name, ns, body=options)
        except k8s.ApiException as err:
            if err.status != 404:
                raise
            step_context.log(f"Pod {name!r} was already gone.")
            continue
        terminated.append(name)
    step_context.log(
        f"Terminated {len(terminated)} pod(s) in namespace {ns!r} ({grace_text}): "
        f"{', '.join(terminated) or 'none'}."
    )
    return terminated


@cluster_action
def delete_pods(
    cluster: Cluster,
    *,
    name: str | None = None,
    ns: str = "default",
    label_selector: str | None = None,
    dry_run: bool = False,
    step_context: StepContext,
) -> list[str]:
    """Deprecated alias kept from chaostoolkit-kubernetes: terminate one pod
    whose name matches `name` (a pattern) and/or `label_selector`."""
    pods = _select_pods(
        cluster,
        label_selector=label_selector,
        name_pattern=name,
        all=False,
        rand=False,
        mode="fixed",
        qty=1,
        ns=ns,
        order="alphabetic",
    )
    chosen = names(pods)
    if dry_run:
        step_context.log(
            f"Dry run: would terminate pod(s) in namespace {ns!r}: "
            f"{', '.join(chosen)}. Nothing was changed."
        )
        return chosen
    for pod_name in chosen:
        cluster.core.delete_namespaced_pod(pod_name, ns)
    step_context.log(f"Terminated pod(s) in namespace {ns!r}: {', '.join(chosen)}.")
    return chosen


def _pod_summary(pod: Any) -> dict[str, Any]:
    statuses = pod.status.container_statuses or []
    ready = any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )
    return {
        "name": pod.metadata.name,
        "phase": pod.status.phase,
        "ready": ready,
        "node": pod.spec.node_name,
        "restarts": sum(c.restart_count or 0 for c in statuses),
        "labels": dict(pod.metadata.labels or {}),
    }


@read_only
@cluster_action
def list_pods(
    cluster: Cluster,
    *,
    label_selector: str | None = None,
    name_pattern: str | None = None,
    phase: str | None = None,
    ns: str = "default",
) -> dict[str, Any]:
    """Read the pods of `ns` matching the selectors, for `expect`.

    Returns ``{"count", "ready", "names", "pods": [{"name", "phase", "ready",
    "node", "restarts", "labels"}]}``, where `ready` counts Ready pods; an
    empty match is a result (count 0), not an error, but a missing namespace
    raises `StepFailed`.
    """
    pods = _matching_pods(cluster, ns, label_selector, name_pattern)
    if phase:
        pods = [pod for pod in pods if pod.status.phase == phase]
    if not pods:
        cluster.require_namespace(ns)
    summaries = sorted((_pod_summary(pod) for pod in pods), key=lambda s: s["name"])
    return {
        "count": len(summaries),
        "ready": sum(1 for s in summaries if s["ready"]),
        "names": [s["name"] for s in summaries],
        "pods": summaries,
    }
