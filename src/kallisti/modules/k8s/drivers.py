"""The rest of chaostoolkit-kubernetes's catalogue, run with the step's API client.

Each driver function builds its client with ``create_k8s_api_client(secrets)``,
which reads ``~/.kube/config`` or ``KUBERNETES_*`` environment variables and, for
a kubeconfig, sets the `kubernetes` package's global default configuration:
unusable for a service running concurrent trials against different clusters.
So the drivers' ``create_k8s_api_client`` name is replaced, once and on first
use, by `_step_client`, which returns the client of the step running in the
current context (a `ContextVar`, set in the step's own worker thread). Outside
a Kallisti step the replacement refuses to build a client rather than fall
back to ``~/.kube``.

Each wrapper takes the driver's own arguments, minus its `secrets` and
`configuration`, plus Kallisti's access arguments. Driver actions that change
the cluster take `dry_run`: a dry run checks that the cluster (and namespace)
answer, and logs the call it would make. Results are turned into plain JSON.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
from contextvars import ContextVar
from typing import Any

from chaoslib.exceptions import ActivityFailed
from kubernetes import client as k8s

from kallisti.domain.errors import StepFailed
from kallisti.modules.context import StepContext, read_only
from kallisti.modules.k8s.access import Cluster, make_action

__all__ = [
    "add_latency",
    "all_microservices_healthy",
    "all_nodes_must_be_ready_to_schedule",
    "all_pods_healthy",
    "apply_from_json",
    "apply_from_yaml",
    "corrupt_packets",
    "count_min_pods",
    "count_pods",
    "create_cluster_custom_object",
    "create_custom_object",
    "create_daemon_set",
    "create_deployment",
    "create_ingress",
    "create_namespace",
    "create_node",
    "create_secret",
    "create_service_endpoint",
    "create_statefulset",
    "daemon_set_available_and_healthy",
    "daemon_set_fully_available",
    "daemon_set_not_fully_available",
    "daemon_set_partially_available",
    "delete_cluster_custom_object",
    "delete_custom_object",
    "delete_daemon_set",
    "delete_ingress",
    "delete_namespace",
    "delete_network_fault",
    "delete_secret",
    "delete_stressor",
    "deployment_available_and_healthy",
    "deployment_fully_available",
    "deployment_is_fully_available",
    "deployment_is_not_fully_available",
    "deployment_not_fully_available",
    "deployment_partially_available",
    "duplicate_packets",
    "exec_in_pods",
    "get_all_node_status_conditions",
    "get_cluster_custom_object",
    "get_custom_object",
    "get_events",
    "get_network_fault",
    "get_network_faults",
    "get_nodes",
    "get_stressor",
    "get_stressors",
    "ingress_exists",
    "list_cluster_custom_objects",
    "list_custom_objects",
    "microservice_available_and_healthy",
    "microservice_is_not_available",
    "namespace_exists",
    "nodes_must_be_healthy",
    "patch_cluster_custom_object",
    "patch_custom_object",
    "pod_is_not_available",
    "pods_in_conditions",
    "pods_in_phase",
    "pods_not_in_phase",
    "read_microservices_logs",
    "read_pod_logs",
    "reorder_packets",
    "replace_cluster_custom_object",
    "replace_custom_object",
    "secret_exists",
    "service_endpoint_is_initialized",
    "service_is_initialized",
    "set_bandwidth",
    "set_loss",
    "should_be_found_in_logs",
    "start_microservice",
    "statefulset_fully_available",
    "statefulset_not_fully_available",
    "stress_cpu",
    "stress_memory",
    "update_daemon_set",
    "update_ingress",
    "verify_nodes_condition",
]

_DRIVER_ARGUMENTS = ("secrets", "configuration")
_KW = inspect.Parameter.KEYWORD_ONLY
_step_api_client: ContextVar[Any] = ContextVar(
    "kallisti_k8s_step_api_client", default=None
)
_install_lock = threading.Lock()


def _step_client(*_args: Any, **_kwargs: Any) -> Any:
    api_client = _step_api_client.get()
    if api_client is None:
        raise RuntimeError(
            "chaostoolkit-kubernetes was called outside a Kallisti k8s step; Kallisti "
            "never builds a client from ~/.kube or the environment."
        )
    return api_client


def _use_step_clients() -> None:
    """Point every loaded driver module's client factory at `_step_client`.

    Idempotent; all modules at once, because drivers call one another across
    modules (`deployment_is_fully_available` → `deployment.probes`).
    """
    with _install_lock:
        for name, module in list(sys.modules.items()):
            if (name == "chaosk8s" or name.startswith("chaosk8s.")) and getattr(
                module, "create_k8s_api_client", _step_client
            ) is not _step_client:
                module.create_k8s_api_client = _step_client  # type: ignore[attr-defined]


def driver_action(module_name: str, function_name: str, *, changes: bool) -> Any:
    """Wrap chaostoolkit-kubernetes's `module_name.function_name` as a step action."""
    driver = getattr(importlib.import_module(module_name), function_name)
    parameters = [
        p
        for p in inspect.signature(driver).parameters.values()
        if p.name not in _DRIVER_ARGUMENTS
    ]
    if changes:
        parameters.append(
            inspect.Parameter("dry_run", _KW, default=False, annotation="bool")
        )
    parameters.append(inspect.Parameter("step_context", _KW, annotation="StepContext"))

    def body(cluster: Cluster, arguments: dict[str, Any]) -> Any:
        step_context: StepContext = arguments.pop("step_context")
        if arguments.pop("dry_run", False):
            return _dry_run(cluster, function_name, arguments, step_context)
        _use_step_clients()
        token = _step_api_client.set(cluster.api_client)
        try:
            result = driver(**arguments)
        except ActivityFailed as err:
            raise StepFailed(
                f"{function_name}: {str(err).strip() or 'failed'}"
            ) from err
        finally:
            _step_api_client.reset(token)
        return cluster.jsonable(result)

    doc = inspect.cleandoc(driver.__doc__ or "").strip()
    action = make_action(
        body,
        parameters,
        name=function_name,
        doc=f"{doc}\n\n(chaostoolkit-kubernetes {module_name}.{function_name})",
        module=__name__,
    )
    return action if changes else read_only(action)


def _dry_run(
    cluster: Cluster, name: str, arguments: dict[str, Any], step_context: StepContext
) -> None:
    namespace = arguments.get("ns")
    if isinstance(namespace, str) and namespace:
        cluster.require_namespace(namespace)
    else:
        k8s.VersionApi(cluster.api_client).get_code()
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    step_context.log(
        f"Dry run: the cluster at {cluster.host} answers; would call {name}({shown}). "
        "Nothing was changed."
    )


_A, _P = "actions", "probes"


def _k8s(package: str, kind: str, name: str) -> Any:
    module = f"chaosk8s.{package}.{kind}" if package else f"chaosk8s.{kind}"
    return driver_action(module, name, changes=kind == _A)


# Deprecated microservice names (chaosk8s.actions / chaosk8s.probes).
start_microservice = _k8s("", _A, "start_microservice")
all_microservices_healthy = _k8s("", _P, "all_microservices_healthy")
microservice_available_and_healthy = _k8s("", _P, "microservice_available_and_healthy")
microservice_is_not_available = _k8s("", _P, "microservice_is_not_available")
service_endpoint_is_initialized = _k8s("", _P, "service_endpoint_is_initialized")
deployment_is_fully_available = _k8s("", _P, "deployment_is_fully_available")
deployment_is_not_fully_available = _k8s("", _P, "deployment_is_not_fully_available")
read_microservices_logs = _k8s("", _P, "read_microservices_logs")
# Pods.
exec_in_pods = _k8s("pod", _A, "exec_in_pods")
pods_in_phase = _k8s("pod", _P, "pods_in_phase")
pods_in_conditions = _k8s("pod", _P, "pods_in_conditions")
pods_not_in_phase = _k8s("pod", _P, "pods_not_in_phase")
read_pod_logs = _k8s("pod", _P, "read_pod_logs")
count_pods = _k8s("pod", _P, "count_pods")
count_min_pods = _k8s("pod", _P, "count_min_pods")
pod_is_not_available = _k8s("pod", _P, "pod_is_not_available")
all_pods_healthy = _k8s("pod", _P, "all_pods_healthy")
should_be_found_in_logs = _k8s("pod", _P, "should_be_found_in_logs")
# Deployments, stateful sets, daemon sets.
create_deployment = _k8s("deployment", _A, "create_deployment")
deployment_available_and_healthy = _k8s(
    "deployment", _P, "deployment_available_and_healthy"
)
deployment_partially_available = _k8s(
    "deployment", _P, "deployment_partially_available"
)
deployment_fully_available = _k8s("deployment", _P, "deployment_fully_available")
deployment_not_fully_available = _k8s(
    "deployment", _P, "deployment_not_fully_available"
)
create_statefulset = _k8s("statefulset", _A, "create_statefulset")
statefulset_fully_available = _k8s("statefulset", _P, "statefulset_fully_available")
statefulset_not_fully_available = _k8s(
    "statefulset", _P, "statefulset_not_fully_available"
)
create_daemon_set = _k8s("daemonset", _A, "create_daemon_set")
delete_daemon_set = _k8s("daemonset", _A, "delete_daemon_set")
update_daemon_set = _k8s("daemonset", _A, "update_daemon_set")
daemon_set_available_and_healthy = _k8s(
    "daemonset", _P, "daemon_set_available_and_healthy"
)
daemon_set_partially_available = _k8s("daemonset", _P, "daemon_set_partially_available")
daemon_set_fully_available = _k8s("daemonset", _P, "daemon_set_fully_available")
daemon_set_not_fully_available = _k8s("daemonset", _P, "daemon_set_not_fully_available")
# Services, ingresses, namespaces, secrets, nodes, events.
create_service_endpoint = _k8s("service", _A, "create_service_endpoint")
service_is_initialized = _k8s("service", _P, "service_is_initialized")
create_ingress = _k8s("networking", _A, "create_ingress")
delete_ingress = _k8s("networking", _A, "delete_ingress")
update_ingress = _k8s("networking", _A, "update_ingress")
ingress_exists = _k8s("networking", _P, "ingress_exists")
create_namespace = _k8s("namespace", _A, "create_namespace")
delete_namespace = _k8s("namespace", _A, "delete_namespace")
namespace_exists = _k8s("namespace", _P, "namespace_exists")
create_secret = _k8s("secret", _A, "create_secret")
delete_secret = _k8s("secret", _A, "delete_secret")
secret_exists = _k8s("secret", _P, "secret_exists")
create_node = _k8s("node", _A, "create_node")
get_nodes = _k8s("node", _P, "get_nodes")
all_nodes_must_be_ready_to_schedule = _k8s(
    "node", _P, "all_nodes_must_be_ready_to_schedule"
)
get_all_node_status_conditions = _k8s("node", _P, "get_all_node_status_conditions")
verify_nodes_condition = _k8s("node", _P, "verify_nodes_condition")
nodes_must_be_healthy = _k8s("node", _P, "nodes_must_be_healthy")
get_events = _k8s("event", _P, "get_events")
# Custom resources.
create_custom_object = _k8s("crd", _A, "create_custom_object")
delete_custom_object = _k8s("crd", _A, "delete_custom_object")
create_cluster_custom_object = _k8s("crd", _A, "create_cluster_custom_object")
delete_cluster_custom_object = _k8s("crd", _A, "delete_cluster_custom_object")
patch_custom_object = _k8s("crd", _A, "patch_custom_object")
replace_custom_object = _k8s("crd", _A, "replace_custom_object")
patch_cluster_custom_object = _k8s("crd", _A, "patch_cluster_custom_object")
replace_cluster_custom_object = _k8s("crd", _A, "replace_cluster_custom_object")
apply_from_json = _k8s("crd", _A, "apply_from_json")
apply_from_yaml = _k8s("crd", _A, "apply_from_yaml")
get_custom_object = _k8s("crd", _P, "get_custom_object")
list_custom_objects = _k8s("crd", _P, "list_custom_objects")
get_cluster_custom_object = _k8s("crd", _P, "get_cluster_custom_object")
list_cluster_custom_objects = _k8s("crd", _P, "list_cluster_custom_objects")
# Chaos Mesh faults (need Chaos Mesh in the cluster).
add_latency = _k8s("chaosmesh.network", _A, "add_latency")
set_loss = _k8s("chaosmesh.network", _A, "set_loss")
duplicate_packets = _k8s("chaosmesh.network", _A, "duplicate_packets")
reorder_packets = _k8s("chaosmesh.network", _A, "reorder_packets")
corrupt_packets = _k8s("chaosmesh.network", _A, "corrupt_packets")
set_bandwidth = _k8s("chaosmesh.network", _A, "set_bandwidth")
delete_network_fault = _k8s("chaosmesh.network", _A, "delete_network_fault")
get_network_faults = _k8s("chaosmesh.network", _P, "get_network_faults")
get_network_fault = _k8s("chaosmesh.network", _P, "get_network_fault")
stress_cpu = _k8s("chaosmesh.stress", _A, "stress_cpu")
stress_memory = _k8s("chaosmesh.stress", _A, "stress_memory")
delete_stressor = _k8s("chaosmesh.stress", _A, "delete_stressor")
get_stressors = _k8s("chaosmesh.stress", _P, "get_stressors")
get_stressor = _k8s("chaosmesh.stress", _P, "get_stressor")
