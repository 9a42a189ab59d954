"""What a changing k8s or Istio action touches, for target leases.

A target is `k8s/<cluster>/<namespace>/<what>` (`<what>`: `name:<name>` or
`selector:<label selector>`), or `k8s/<cluster>/nodes/<what>` for node
actions. An action whose `where` names neither a name nor a selector holds the
whole namespace (or every node): when in doubt, a lease covers more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kallisti.modules.context import target_path

__all__ = ["targets"]

# The `where` keys that name what an action touches, most precise first.
_NAME_KEYS = ("name", "virtual_service_name", "svc_name", "service_name")
_SELECTOR_KEYS = ("label_selector", "name_pattern")


def _cluster(where: Mapping[str, Any]) -> str:
    for key in ("k8s_api_host", "cluster_name", "context", "kubeconfig"):
        if where.get(key):
            return str(where[key])
    return "in-cluster"


def _what(where: Mapping[str, Any]) -> str | None:
    for key in _NAME_KEYS:
        if where.get(key):
            return f"name:{where[key]}"
    for key in _SELECTOR_KEYS:
        if where.get(key):
            return f"selector:{where[key]}"
    return None


def targets(action: str, where: Mapping[str, Any]) -> list[str]:
    """The targets of a changing action (the registry's `targets` hook)."""
    cluster = _cluster(where)
    if "node" in action:
        scope = ["k8s", cluster, "nodes"]
    else:
        namespace = where.get("ns") or where.get("namespace") or "default"
        scope = ["k8s", cluster, str(namespace)]
    what = _what(where)
    return [target_path(*scope, *([] if what is None else [what]))]
