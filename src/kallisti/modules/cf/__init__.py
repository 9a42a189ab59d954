"""`cf`: Cloud Foundry chaos and probes, as Kallisti's `cf` module offers them.

Every chaostoolkit-cloud-foundry action and probe (`stop_app`, `start_app`,
`delete_app`, `terminate_app_instance`, `terminate_some_random_instance`,
`stop_all_apps`, `start_all_apps`, `unbind_service_from_app`, the route
actions, `list_apps`, `get_app_stats`), its API helpers that Kallisti exposes
too (`get_app_by_name`, `get_apps_for_org`, `call_api`, …) and Kallisti's own
(`get_app_states_by_org`, `terminate_random_app_instance`,
`terminate_some_random_instances`, `get_user_organization_by_name`,
`get_user_space_by_organization_and_space_name`) take `cf_api_url` and a
username/password credential (default: CF_USERNAME / CF_PASSWORD on the
worker) instead of the driver's `configuration` and `secrets` (`access`).
Changing actions take `dry_run`.
"""

from __future__ import annotations

import warnings
from typing import Any

from kallisti.modules.cf import kallisti_actions
from kallisti.modules.cf.access import cf_action, default_credentials
from kallisti.modules.cf.target_paths import targets
from kallisti.modules.cf.undo import fault_in_place, revert_fault

# chaoscf calls urllib3.disable_warnings() on import: keep the process's
# warning filters as they were (an unverified HTTPS call must stay visible).
with warnings.catch_warnings():
    import chaoscf.actions
    import chaoscf.api
    import chaoscf.probes

_CHANGES = frozenset(
    {
        *chaoscf.actions.__all__,
        "call_api",
        "terminate_random_app_instance",
        "terminate_some_random_instances",
    }
)


def _wrap(module: Any, name: str) -> Any:
    return cf_action(
        getattr(module, name),
        changes=name in _CHANGES,
        source=f"{module.__name__}.{name}",
    )


# Kallisti's search order: chaoscf.actions, chaoscf.api, chaoscf.probes, its own.
_ACTIONS: dict[str, Any] = {}
for _module in (chaoscf.actions, chaoscf.api, chaoscf.probes, kallisti_actions):
    for _name in _module.__all__:
        _ACTIONS.setdefault(_name, _wrap(_module, _name))
globals().update(_ACTIONS)

__all__ = sorted(_ACTIONS)

# Not an action: the registry's hook for the default credential.
default_credentials = default_credentials

# Not an action: the registry's hook for the targets a changing action leases.
targets = targets

# Not actions: the fault ledger's hooks (see `kallisti.modules.cf.undo`).
fault_in_place = fault_in_place
revert_fault = revert_fault
