"""`aws`: every chaostoolkit-aws activity, as Kallisti's `aws` module offers them.

A step names an activity by service and name, ``aws.ec2.stop_instance``, or as
Kallisti allows by its name alone, ``aws.stop_instance``: then, as in
Kallisti, the last dotted part is looked up among all activities in the
driver's discovery order (``delete_cluster`` is ECS's; write
``aws.eks.delete_cluster`` for EKS's).

`region` in `where` is the driver's ``aws_region``; the optional `role` is
assumed for the step (its session named ``kallisti-<trial id>``) and
`endpoint_url` points the clients elsewhere (a VPC endpoint, LocalStack).
AWS credentials are the worker's (environment, shared config, instance role),
as in Kallisti; a step's `credentials` fails with `InvalidCredentialType`.
Each step runs on its own boto3 session (`drivers`); every changing action
takes `dry_run` (`access`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from kallisti.modules.aws.drivers import driver_action, driver_activities
from kallisti.modules.aws.target_paths import targets
from kallisti.modules.aws.undo import fault_in_place, revert_fault


def _services() -> tuple[dict[str, ModuleType], dict[str, Callable[..., Any]]]:
    """One namespace module per AWS service (``aws.ec2``), and the first action
    of each name across them (Kallisti's lookup by the last part)."""
    services: dict[str, ModuleType] = {}
    by_name: dict[str, Callable[..., Any]] = {}
    for activity in driver_activities():
        service = services.get(activity.service)
        if service is None:
            service = ModuleType(
                f"{__name__}.{activity.service}",
                f"chaostoolkit-aws's {activity.service} activities.",
            )
            service.__all__ = []  # type: ignore[attr-defined]
            services[activity.service] = service
        if activity.name in vars(service):
            continue  # listed as action and probe: the first one stands
        action = driver_action(activity)
        setattr(service, activity.name, action)
        service.__all__.append(activity.name)
        by_name.setdefault(activity.name, action)
    return services, by_name


_SERVICES, _BY_NAME = _services()
globals().update(_SERVICES)

__all__ = sorted(_SERVICES)


def __find_action__(function_path: str) -> Callable[..., Any] | None:
    """Kallisti's rule: the last dotted part names the activity, whatever the
    parts before it."""
    return _BY_NAME.get(function_path.rpartition(".")[2])


# Not an action: the registry's hook for the targets a changing action leases.
targets = targets
# Not actions: the fault ledger's hooks (see `kallisti.modules.aws.undo`).
fault_in_place = fault_in_place
revert_fault = revert_fault
