"""`istio`: fault injection on Istio virtual services.

Actions: `add_delay_fault`, `add_abort_fault`, `remove_delay_fault`,
`remove_abort_fault`, `set_fault`, `unset_fault`; probe: `get_virtual_service`.
They keep chaostoolkit-istio's names, arguments and results, and take the same
cluster-access arguments as the `k8s` module (see `kallisti.modules.k8s.access`);
the in-cluster service-account token is the default credential.
"""

from kallisti.modules.istio.faults import (
    add_abort_fault,
    add_delay_fault,
    get_virtual_service,
    remove_abort_fault,
    remove_delay_fault,
    set_fault,
    unset_fault,
)
from kallisti.modules.k8s.access import default_credentials
from kallisti.modules.k8s.target_paths import targets
from kallisti.modules.k8s.undo import fault_in_place, revert_fault

__all__ = [
    "add_abort_fault",
    "add_delay_fault",
    "get_virtual_service",
    "remove_abort_fault",
    "remove_delay_fault",
    "set_fault",
    "unset_fault",
]

# Not an action: the registry's hook for the default credential.
default_credentials = default_credentials
# Not an action: the registry's hook for the targets a changing action leases.
targets = targets

# Not actions: the fault ledger's hooks (see `kallisti.modules.k8s.undo`).
fault_in_place = fault_in_place
revert_fault = revert_fault
