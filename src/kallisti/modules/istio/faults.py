"""Istio fault injection on VirtualServices, written against the CustomObjectsApi.

chaostoolkit-istio 0.4.1 calls ``ApiClient.call_api`` with arguments that
`kubernetes` 36 and later no longer take, so these actions are ours. They keep
its names, arguments and result (``{"status", "body", "headers"}``): a fault
is set on every HTTP route of the virtual service that sends traffic to one of
the given `routes` destinations (host, and subset when given).

Unlike the driver, a fault that would match no route fails the step (nothing
would have been injected), a removal touches only its own kind of fault
(`remove_delay_fault` leaves an abort in place), and the update carries the
object's `resourceVersion`, so a concurrent change gives a conflict rather than
being overwritten.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubernetes import client as k8s

from kallisti.domain.errors import InvalidArguments, StepFailed
from kallisti.modules.context import StepContext, read_only
from kallisti.modules.k8s.access import Cluster, cluster_action
from kallisti.modules.k8s.errors import status_message
from kallisti.modules.k8s.undo import virtual_service_fault

__all__ = [
    "add_abort_fault",
    "add_delay_fault",
    "get_virtual_service",
    "remove_abort_fault",
    "remove_delay_fault",
    "set_fault",
    "unset_fault",
]

DEFAULT_VERSION = "networking.istio.io/v1alpha3"
_PLURAL = "virtualservices"
_MERGE_PATCH = "application/merge-patch+json"


def _group_version(version: str) -> tuple[str, str]:
    group, _, api_version = str(version).partition("/")
    if not group or not api_version:
        raise InvalidArguments(
            f"`version` must look like {DEFAULT_VERSION!r}, not {version!r}."
        )
    return group, api_version


def _destinations(routes: Any) -> set[tuple[str, str | None]]:
    if not isinstance(routes, list) or not routes:
        raise InvalidArguments(
            "`routes` must be a non-empty list like "
            '[{"destination": {"host": "reviews", "subset": "v1"}}].'
        )
    wanted = set()
    for route in routes:
        destination = route.get("destination") if isinstance(route, dict) else None
        if not isinstance(destination, dict) or not destination.get("host"):
            raise InvalidArguments(
                f"Each route needs `destination.host`; got {route!r}."
            )
        wanted.add((str(destination["host"]), destination.get("subset")))
    return wanted


def _read(cluster: Cluster, name: str, ns: str, version: str) -> Any:
    group, api_version = _group_version(version)
    return cluster.custom.get_namespaced_custom_object_with_http_info(
        group, api_version, ns, _PLURAL, name
    )


def _result(response: tuple[Any, int, Any]) -> dict[str, Any]:
    """chaostoolkit-istio's result shape, from a ``*_with_http_info`` answer."""
    data, status, headers = response
    return {"status": status, "body": data, "headers": dict(headers or {})}


def _edit_routes(
    virtual_service: dict[str, Any], routes: Any, edit: Any
) -> tuple[list[dict[str, Any]], int]:
    """A copy of the `http` routes with `edit(http_route)` applied to each one
    that sends traffic to a wanted destination; and how many were edited."""
    wanted = _destinations(routes)
    http = copy.deepcopy((virtual_service.get("spec") or {}).get("http") or [])
    edited = 0
    for http_route in http:
        for route in http_route.get("route") or []:
            destination = route.get("destination") or {}
            if (destination.get("host"), destination.get("subset")) in wanted or (
                destination.get("host"),
                None,
            ) in wanted:
                edit(http_route)
                edited += 1
                break
    return http, edited


def _update(
    cluster: Cluster,
    *,
    name: str,
    ns: str,
    version: str,
    routes: Any,
    edit: Any,
    describe: str,
    dry_run: bool,
    step_context: StepContext,
    adds_fault: bool = False,
) -> dict[str, Any]:
    try:
        current = _read(cluster, name, ns, version)
    except k8s.ApiException as err:
        if err.status != 404:
            raise
        cluster.require_namespace(ns)
        raise StepFailed(
            f"Virtual service {name!r} does not exist in namespace {ns!r}: "
            f"{status_message(err)}."
        ) from err
    current_body, current_status, _ = current
    http, edited = _edit_routes(current_body, routes, edit)
    if not edited:
        raise StepFailed(
            f"No HTTP route of virtual service {name!r} in namespace {ns!r} goes to "
            f"{json.dumps(routes)}; nothing to {describe}."
        )
    if dry_run:
        preview = copy.deepcopy(current_body)
        preview.setdefault("spec", {})["http"] = http
        step_context.log(
            f"Dry run: would {describe} on {edited} HTTP route(s) of virtual service "
            f"{name!r} in namespace {ns!r}. Nothing was changed."
        )
        return {"status": current_status, "body": preview, "headers": {}}
    group, api_version = _group_version(version)
    patch = {
        "apiVersion": version,
        "kind": "VirtualService",
        "metadata": {
            "name": name,
            "resourceVersion": current_body["metadata"]["resourceVersion"],
        },
        "spec": {"http": http},
    }
    if adds_fault:
        step_context.record_fault(
            virtual_service_fault(cluster, name, ns, version, current_body, describe)
        )
    response = cluster.custom.patch_namespaced_custom_object_with_http_info(
        group, api_version, ns, _PLURAL, name, patch, _content_type=_MERGE_PATCH
    )
    step_context.log(
        f"{describe[0].upper()}{describe[1:]}: done on {edited} HTTP route(s) of "
        f"virtual service {name!r} in namespace {ns!r}."
    )
    return _result(response)


@read_only
@cluster_action
def get_virtual_service(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    ns: str = "default",
    version: str = DEFAULT_VERSION,
) -> dict[str, Any]:
    """Read a virtual service: ``{"status", "body", "headers"}``. A missing one
    gives status 404 (so `expect` can check it); other errors fail the step."""
    try:
        return _result(_read(cluster, virtual_service_name, ns, version))
    except k8s.ApiException as err:
        if err.status != 404:
            raise
        body: Any = err.body
        try:
            body = json.loads(body)
        except (TypeError, ValueError):
            pass
        return {"status": 404, "body": body, "headers": dict(err.headers or {})}


@cluster_action
def set_fault(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    routes: list[dict[str, Any]],
    fault: dict[str, Any],
    ns: str = "default",
    version: str = DEFAULT_VERSION,
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Set `fault` (an Istio HTTPFaultInjection) on the routes to `routes`,
    replacing any fault there. Raises `StepFailed` when the virtual service is
    missing or no route matches."""
    if not isinstance(fault, dict) or not fault:
        raise InvalidArguments("`fault` must be an Istio HTTPFaultInjection object.")

    def edit(http_route: dict[str, Any]) -> None:
        http_route["fault"] = copy.deepcopy(fault)

    return _update(
        cluster,
        name=virtual_service_name,
        ns=ns,
        version=version,
        routes=routes,
        edit=edit,
        describe=f"set fault {json.dumps(fault)}",
        dry_run=dry_run,
        step_context=step_context,
        adds_fault=True,
    )


def _remove(kind: str | None) -> Any:
    def edit(http_route: dict[str, Any]) -> None:
        if kind is None:
            http_route.pop("fault", None)
            return
        fault = http_route.get("fault") or {}
        fault.pop(kind, None)
        if fault:
            http_route["fault"] = fault
        else:
            http_route.pop("fault", None)

    return edit


@cluster_action
def unset_fault(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    routes: list[dict[str, Any]],
    ns: str = "default",
    version: str = DEFAULT_VERSION,
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Remove every fault from the routes to `routes`."""
    return _update(
        cluster,
        name=virtual_service_name,
        ns=ns,
        version=version,
        routes=routes,
        edit=_remove(None),
        describe="remove faults",
        dry_run=dry_run,
        step_context=step_context,
    )


def _with_percentage(fault: dict[str, Any], percentage: Any) -> dict[str, Any]:
    if percentage is not None:
        if isinstance(percentage, bool) or not isinstance(percentage, int | float):
            raise InvalidArguments(
                f"`percentage` must be a number, not {percentage!r}."
            )
        if not 0 <= percentage <= 100:
            raise InvalidArguments(f"`percentage` must be 0 to 100, not {percentage}.")
        fault["percentage"] = {"value": percentage}
    return fault


@cluster_action
def add_delay_fault(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    fixed_delay: str,
    routes: list[dict[str, Any]],
    percentage: float | None = None,
    ns: str = "default",
    version: str = DEFAULT_VERSION,
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Delay requests on the routes to `routes` by `fixed_delay` (e.g. "5s"),
    for `percentage` percent of them when given."""
    delay = _with_percentage({"fixedDelay": str(fixed_delay)}, percentage)

    def edit(http_route: dict[str, Any]) -> None:
        http_route["fault"] = {
            **(http_route.get("fault") or {}),
            "delay": copy.deepcopy(delay),
        }

    return _update(
        cluster,
        name=virtual_service_name,
        ns=ns,
        version=version,
        routes=routes,
        edit=edit,
        adds_fault=True,
        describe=f"add delay fault {json.dumps(delay)}",
        dry_run=dry_run,
        step_context=step_context,
    )


@cluster_action
def add_abort_fault(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    http_status: int,
    routes: list[dict[str, Any]],
    percentage: float | None = None,
    ns: str = "default",
    version: str = DEFAULT_VERSION,
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Answer requests on the routes to `routes` with `http_status` at once,
    for `percentage` percent of them when given."""
    if isinstance(http_status, bool) or not isinstance(http_status, int):
        raise InvalidArguments(
            f"`http_status` must be an integer, not {http_status!r}."
        )
    abort = _with_percentage({"httpStatus": http_status}, percentage)

    def edit(http_route: dict[str, Any]) -> None:
        http_route["fault"] = {
            **(http_route.get("fault") or {}),
            "abort": copy.deepcopy(abort),
        }

    return _update(
        cluster,
        name=virtual_service_name,
        ns=ns,
        version=version,
        routes=routes,
        edit=edit,
        adds_fault=True,
        describe=f"add abort fault {json.dumps(abort)}",
        dry_run=dry_run,
        step_context=step_context,
    )


@cluster_action
def remove_delay_fault(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    routes: list[dict[str, Any]],
    ns: str = "default",
    version: str = DEFAULT_VERSION,
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Remove the delay fault from the routes to `routes` (an abort stays)."""
    return _update(
        cluster,
        name=virtual_service_name,
        ns=ns,
        version=version,
        routes=routes,
        edit=_remove("delay"),
        describe="remove the delay fault",
        dry_run=dry_run,
        step_context=step_context,
    )


@cluster_action
def remove_abort_fault(
    cluster: Cluster,
    *,
    virtual_service_name: str,
    routes: list[dict[str, Any]],
    ns: str = "default",
    version: str = DEFAULT_VERSION,
    dry_run: bool = False,
    step_context: StepContext,
) -> dict[str, Any]:
    """Remove the abort fault from the routes to `routes` (a delay stays)."""
    return _update(
        cluster,
        name=virtual_service_name,
        ns=ns,
        version=version,
        routes=routes,
        edit=_remove("abort"),
        describe="remove the abort fault",
        dry_run=dry_run,
        step_context=step_context,
    )
