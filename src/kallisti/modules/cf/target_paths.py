"""What a changing Cloud Foundry action touches, for target leases.

A target is `cf/<api>/<org>/<space>/<app>`, as far as the `where` names them;
an action naming no org holds the whole foundation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kallisti.modules.context import target_path

__all__ = ["targets"]


def targets(action: str, where: Mapping[str, Any]) -> list[str]:
    """The targets of a changing action (the registry's `targets` hook)."""
    parts: list[Any] = ["cf", where.get("cf_api_url") or "default"]
    for key in ("org_name", "space_name", "app_name"):
        if not where.get(key):
            break
        parts.append(where[key])
    return [target_path(*parts)]
