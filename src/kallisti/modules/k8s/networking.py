"""Network chaos: delete services, deny traffic with network policies, undo it.

The helper policies carry chaostoolkit-kubernetes's names
(``chaostoolkit-deny-all-ingress``, ``-deny-all-egress``, ``-allow-dns``) so
that an experiment started by either tool can be cleaned up by the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from kallisti.domain.errors import InvalidArguments
from kallisti.modules.context import StepContext
from kallisti.modules.k8s.access import Cluster, cluster_action
from kallisti.modules.k8s.undo import network_policy_fault

__all__ = [
    "allow_dns_access",
    "create_network_policy",
    "delete_service",
    "deny_all_egress",
    "deny_all_ingress",
    "remove_allow_dns_access",
    "remove_deny_all_egress",
    "remove_deny_all_ingress",
    "remove_network_policy",
    "remove_service_endpoint",
]

DENY_ALL_INGRESS = "chaostoolkit-deny-all-ingress"
DENY_ALL_EGRESS = "chaostoolkit-deny-all-egress"
ALLOW_DNS = "chaostoolkit-allow-dns"


def _delete_service(
    cluster: Cluster, name: str, ns: str, dry_run: bool, step_context: StepContext
) -> dict[str, str]:
    service = cluster.core.read_namespaced_service(name, ns)
    result = {
        "name": name,
        "namespace": ns,
        "cluster_ip": service.spec.cluster_ip or "",
    }
    if dry_run:
        step_context.log(
            f"Dry run: would delete service {name!r} in namespace {ns!r}. "
            "Nothing was changed."
        )
        return result
    cluster.core.delete_namespaced_service(name, ns)
    step_context.log(f"Deleted service {name!r} in namespace {ns!r}.")
    return result


@cluster_action
def delete_service(
    cluster: Cluster,
    *,
    name: str,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, str]:
    """Delete service `name`; returns ``{"name", "namespace", "cluster_ip"}``.
    Raises `StepFailed` when the service or namespace does not exist."""
    return _delete_service(cluster, name, ns, dry_run, step_context)


@cluster_action
def remove_service_endpoint(
    cluster: Cluster,
    *,
    name: str,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, str]:
    """Deprecated name of `delete_service` (kept for Kallisti 1.x experiments)."""
    return _delete_service(cluster, name, ns, dry_run, step_context)


def _load_spec(spec: dict[str, Any] | None, spec_path: str | None) -> dict[str, Any]:
    if spec_path:
        path = Path(spec_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise InvalidArguments(
                f"Cannot read `spec_path` {spec_path}: {err.strerror}"
            ) from None
        if path.suffix == ".json":
            loaded = json.loads(text)
        elif path.suffix in (".yml", ".yaml"):
            loaded = yaml.safe_load(text)
        else:
            raise InvalidArguments(
                f"`spec_path` must be a .json, .yml or .yaml file: {spec_path}"
            )
        spec = loaded
    if not isinstance(spec, dict) or not (spec.get("metadata") or {}).get("name"):
        raise InvalidArguments(
            "A network policy needs `spec` (or `spec_path`): a NetworkPolicy object "
            "with `metadata.name`."
        )
    return spec


def _create_policy(
    cluster: Cluster,
    spec: dict[str, Any],
    ns: str,
    dry_run: bool,
    step_context: StepContext,
) -> dict[str, Any]:
    name = spec["metadata"]["name"]
    result = {"name": name, "namespace": ns, "spec": spec.get("spec", {})}
    if dry_run:
        cluster.require_namespace(ns)
        step_context.log(
            f"Dry run: would create network policy {name!r} in namespace {ns!r}: "
            f"{json.dumps(spec.get('spec', {}))}. Nothing was changed."
        )
        return result
    step_context.record_fault(network_policy_fault(cluster, name, ns))
    cluster.networking.create_namespaced_network_policy(ns, spec)
    step_context.log(f"Created network policy {name!r} in namespace {ns!r}.")
    return result


def _remove_policy(
    cluster: Cluster, name: str, ns: str, dry_run: bool, step_context: StepContext
) -> dict[str, str]:
    cluster.networking.read_namespaced_network_policy(name, ns)
    if dry_run:
        step_context.log(
            f"Dry run: would delete network policy {name!r} in namespace {ns!r}. "
            "Nothing was changed."
        )
    else:
        cluster.networking.delete_namespaced_network_policy(name, ns)
        step_context.log(f"Deleted network policy {name!r} in namespace {ns!r}.")
    return {"name": name, "namespace": ns}


def _pod_selector(label_selectors: dict[str, Any] | None) -> dict[str, Any]:
    if label_selectors is None:
        return {}
    if not isinstance(label_selectors, dict):
        raise InvalidArguments(
            '`label_selectors` must be an object of labels, e.g. {"app": "web"}.'
        )
    return {"matchLabels": {str(k): str(v) for k, v in label_selectors.items()}}


@cluster_action
def create_network_policy(
    cluster: Cluster,
    *,
    spec: dict[str, Any] | None = None,
    spec_path: str | None = None,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Create the NetworkPolicy `spec` (or the one in file `spec_path`) in `ns`.
    Returns ``{"name", "namespace", "spec"}``; raises `StepFailed` when it
    exists already (409) or is invalid (422)."""
    return _create_policy(
        cluster, _load_spec(spec, spec_path), ns, dry_run, step_context
    )


@cluster_action
def remove_network_policy(
    cluster: Cluster,
    *,
    name: str,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, str]:
    """Delete network policy `name`; raises `StepFailed` when it does not exist."""
    return _remove_policy(cluster, name, ns, dry_run, step_context)


def _helper_policy(
    name: str, pod_selector: dict[str, Any], spec: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {"podSelector": pod_selector, **spec},
    }


@cluster_action
def deny_all_ingress(
    cluster: Cluster,
    *,
    label_selectors: dict[str, Any] | None = None,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Deny all ingress traffic to the pods of `ns` (those with `label_selectors`
    if given) with policy ``chaostoolkit-deny-all-ingress``."""
    policy = _helper_policy(
        DENY_ALL_INGRESS,
        _pod_selector(label_selectors),
        {"policyTypes": ["Ingress"], "ingress": []},
    )
    return _create_policy(cluster, policy, ns, dry_run, step_context)


@cluster_action
def remove_deny_all_ingress(
    cluster: Cluster,
    *,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, str]:
    """Undo `deny_all_ingress` in `ns`."""
    return _remove_policy(cluster, DENY_ALL_INGRESS, ns, dry_run, step_context)


@cluster_action
def deny_all_egress(
    cluster: Cluster,
    *,
    label_selectors: dict[str, Any] | None = None,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Deny all egress traffic from the pods of `ns` (those with
    `label_selectors` if given) with policy ``chaostoolkit-deny-all-egress``."""
    policy = _helper_policy(
        DENY_ALL_EGRESS, _pod_selector(label_selectors), {"policyTypes": ["Egress"]}
    )
    return _create_policy(cluster, policy, ns, dry_run, step_context)


@cluster_action
def remove_deny_all_egress(
    cluster: Cluster,
    *,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, str]:
    """Undo `deny_all_egress` in `ns`."""
    return _remove_policy(cluster, DENY_ALL_EGRESS, ns, dry_run, step_context)


@cluster_action
def allow_dns_access(
    cluster: Cluster,
    *,
    label_selectors: dict[str, Any] | None = None,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Allow DNS (port 53, UDP and TCP) from the pods of `ns`, typically beside
    `deny_all_egress`, with policy ``chaostoolkit-allow-dns``."""
    egress = [
        {
            "to": [{"namespaceSelector": {}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }
    ]
    policy = _helper_policy(
        ALLOW_DNS,
        _pod_selector(label_selectors),
        {"policyTypes": ["Egress"], "egress": egress},
    )
    return _create_policy(cluster, policy, ns, dry_run, step_context)


@cluster_action
def remove_allow_dns_access(
    cluster: Cluster,
    *,
    ns: str = "default",
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, str]:
    """Undo `allow_dns_access` in `ns`."""
    return _remove_policy(cluster, ALLOW_DNS, ns, dry_run, step_context)
