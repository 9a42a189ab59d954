"""`k8s`: Kubernetes chaos and probes, as Kallisti's `k8s` module offers them.

The whole chaostoolkit-kubernetes catalogue is callable as ``k8s.<name>`` with
Kallisti's access arguments instead of the driver's `secrets`/`configuration`
(see `access`). The actions most experiments use are written here, on the
step's own API client, with clear errors and dry runs that name their targets:

- pods: `terminate_pods`, `delete_pods`, probe `list_pods`;
- workloads: `scale_deployment`, `scale_microservice`, `delete_deployment`,
  `rollout_deployment`, `kill_microservice`, `delete_replica_set`,
  `scale_statefulset`, `remove_statefulset`, probes `read_deployment`,
  `read_statefulset`;
- networking: `delete_service`, `remove_service_endpoint`,
  `create_network_policy`, `remove_network_policy`, `deny_all_ingress`,
  `deny_all_egress`, `allow_dns_access` and their `remove_` undos;
- nodes: `cordon_node`, `uncordon_node`, `drain_nodes`, `delete_nodes`.

Everything else (creating objects from spec files, custom objects, Chaos Mesh
faults, the driver's probes) runs the chaostoolkit-kubernetes function itself
with the step's client (`drivers`). As in Kallisti, the Istio fault actions
are also callable here (``k8s.add_delay_fault``). The default credential is the
in-cluster service-account token (K8S_SVC_ACC_TOKEN_FILE).
"""

from kallisti.modules.k8s.access import default_credentials
from kallisti.modules.k8s.networking import (
    allow_dns_access,
    create_network_policy,
    delete_service,
    deny_all_egress,
    deny_all_ingress,
    remove_allow_dns_access,
    remove_deny_all_egress,
    remove_deny_all_ingress,
    remove_network_policy,
    remove_service_endpoint,
)
from kallisti.modules.k8s.nodes import (
    cordon_node,
    delete_nodes,
    drain_nodes,
    uncordon_node,
)
from kallisti.modules.k8s.pods import delete_pods, list_pods, terminate_pods
from kallisti.modules.k8s.target_paths import targets
from kallisti.modules.k8s.undo import fault_in_place, revert_fault
from kallisti.modules.k8s.workloads import (
    delete_deployment,
    delete_replica_set,
    kill_microservice,
    read_deployment,
    read_statefulset,
    remove_statefulset,
    rollout_deployment,
    scale_deployment,
    scale_microservice,
    scale_statefulset,
)

__all__ = [
    "allow_dns_access",
    "cordon_node",
    "create_network_policy",
    "delete_deployment",
    "delete_nodes",
    "delete_pods",
    "delete_replica_set",
    "delete_service",
    "deny_all_egress",
    "deny_all_ingress",
    "drain_nodes",
    "kill_microservice",
    "list_pods",
    "read_deployment",
    "read_statefulset",
    "remove_allow_dns_access",
    "remove_deny_all_egress",
    "remove_deny_all_ingress",
    "remove_network_policy",
    "remove_service_endpoint",
    "remove_statefulset",
    "rollout_deployment",
    "scale_deployment",
    "scale_microservice",
    "scale_statefulset",
    "terminate_pods",
    "uncordon_node",
]

# The rest of the catalogue: the registry looks there after `__all__`.
__actions_modules__ = ["kallisti.modules.k8s.drivers", "kallisti.modules.istio.faults"]

# Not an action: the registry's hook for the default credential.
default_credentials = default_credentials
# Not an action: the registry's hook for the targets a changing action leases.
targets = targets

# Not actions: the fault ledger's hooks (see `kallisti.modules.k8s.undo`).
fault_in_place = fault_in_place
revert_fault = revert_fault
