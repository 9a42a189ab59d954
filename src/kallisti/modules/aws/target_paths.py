"""What a changing AWS action touches, for target leases.

A target is `aws/<region>/<resource id>`, one per resource the `where` names
(keys such as `instance_ids`, `cluster`, `db_instance_identifier`,
`function_name`), so `instance_id: i-1` and `instance_ids: [i-1]` overlap; an
action naming none holds the whole region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kallisti.modules.context import target_path

__all__ = ["targets"]

_RESOURCE_SUFFIXES = ("_id", "_ids", "_name", "_names", "_arn", "_arns", "identifier")
_RESOURCE_KEYS = ("cluster", "service", "group", "bucket", "queue")


def _resources(where: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for key, value in where.items():
        if key in ("region", "role", "endpoint_url", "credentials"):
            continue
        if not (key.endswith(_RESOURCE_SUFFIXES) or key in _RESOURCE_KEYS):
            continue
        values = value if isinstance(value, list | tuple) else [value]
        found.extend(str(item) for item in values if item not in (None, ""))
    return found


def targets(action: str, where: Mapping[str, Any]) -> list[str]:
    """The targets of a changing action (the registry's `targets` hook)."""
    scope = ("aws", where.get("region") or "default")
    resources = _resources(where)
    if not resources:
        return [target_path(*scope)]
    return [target_path(*scope, resource) for resource in resources]
