"""Pod disruption budgets, as the eviction subresource checks them.

The real server reads the budget's `status.disruptionsAllowed`, kept by the
disruption controller; here it is worked out at the moment of the eviction
from the same inputs: the budget's selector (`matchLabels`), the pods it covers
that are not terminating, those of them that are Ready, their controllers'
`replicas`, and `minAvailable` or `maxUnavailable` (a count or a percentage,
rounded up as the controller does).
A refused eviction is a 429 `Status` naming the budget, as on a real cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .controllers import is_ready
from .errors import ApiError

__all__ = ["check_eviction"]


def _covers(budget: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    selector = (budget.get("spec") or {}).get("selector") or {}
    wanted: dict[str, str] = selector.get("matchLabels") or {}
    labels = pod["metadata"].get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _scaled(value: Any, expected: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * expected / 100)
    return int(value)


def _refused(cause: str) -> ApiError:
    return ApiError(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
        {"causes": [{"reason": "DisruptionBudget", "message": cause}]},
    )


def _expected(
    covered: list[dict[str, Any]], scale_of: Callable[[str, str], int]
) -> int:
    """How many pods the budget's pods' controllers want (their `replicas`)."""
    owners = {
        (ref["kind"], ref["name"])
        for pod in covered
        for ref in pod["metadata"].get("ownerReferences") or []
        if ref.get("controller")
    }
    bare = sum(1 for pod in covered if not pod["metadata"].get("ownerReferences"))
    return bare + sum(scale_of(kind, name) for kind, name in owners)


def check_eviction(
    pod: Mapping[str, Any],
    budgets: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    scale_of: Callable[[str, str], int],
) -> None:
    """Raise the API's 429 when evicting `pod` would break its budget.

    `budgets` and `pods` are those of the pod's namespace; `scale_of(kind,
    name)` is the `spec.replicas` of a pod's controller. As in the disruption
    controller, an integer `minAvailable` counts against the budget's pods, a
    percentage or `maxUnavailable` against what their controllers want. A pod
    covered by no budget, or already terminating, may always be evicted."""
    if pod["metadata"].get("deletionTimestamp"):
        return
    covering = [b for b in budgets if _covers(b, pod)]
    if not covering:
        return
    if len(covering) > 1:
        raise ApiError(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the eviction "
            "subresource does not support.",
        )
    budget = covering[0]
    name, spec = budget["metadata"]["name"], budget.get("spec") or {}
    covered = [
        p
        for p in pods
        if _covers(budget, p) and not p["metadata"].get("deletionTimestamp")
    ]
    healthy = sum(1 for p in covered if is_ready(p))
    minimum = spec.get("minAvailable")
    if isinstance(minimum, int):
        desired = minimum
    else:
        expected = _expected(covered, scale_of)
        if minimum is not None:
            desired = _scaled(minimum, expected)
        else:
            desired = expected - _scaled(spec.get("maxUnavailable", 0), expected)
    if healthy - desired <= 0 if is_ready(pod) else healthy < desired:
        raise _refused(
            f"The disruption budget {name} needs {desired} healthy pods and has "
            f"{healthy} currently",
        )
