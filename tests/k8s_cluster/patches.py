"""The three PATCH formats: JSON merge patch, strategic merge, JSON patch."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError

__all__ = ["JSON_PATCH", "MERGE", "STRATEGIC", "apply_patch"]

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, `null` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 `add`, `remove`, `replace` and `test`."""
    if not isinstance(operations, list):
        raise ApiError.bad_request("a JSON patch must be a list of operations")
    document = copy.deepcopy(target)
    for operation in operations:
        op, parts = operation.get("op"), _pointer(str(operation.get("path", "")))
        parent: Any = document
        for part in parts[:-1]:
            parent = (
                parent[int(part)]
                if isinstance(parent, list)
                else parent.setdefault(part, {})
            )
        last = parts[-1]
        if op == "test":
            current = (
                parent[int(last)] if isinstance(parent, list) else parent.get(last)
            )
            if current != operation.get("value"):
                raise ApiError(
                    422, "Invalid", f"test operation failed at {operation['path']}"
                )
        elif op == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            elif last in parent:
                del parent[last]
            else:
                raise ApiError(
                    422, "Invalid", f"cannot remove missing {operation['path']}"
                )
        elif op in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(operation.get("value"))
                elif op == "add":
                    parent.insert(int(last), operation.get("value"))
                else:
                    parent[int(last)] = operation.get("value")
            else:
                parent[last] = operation.get("value")
        else:
            raise ApiError(422, "Invalid", f"unsupported JSON patch operation {op!r}")
    return document


def apply_patch(content_type: str, target: Any, patch: Any, *, custom: bool) -> Any:
    """Apply `patch` to `target`; raises 415 for a format the kind does not take.

    Strategic merge is treated as a JSON merge (list merge keys are not
    modelled) and, as on a real server, refused for custom resources.
    """
    media = content_type.split(";")[0].strip().lower()
    if media == MERGE or (media == STRATEGIC and not custom):
        return _merge(target, patch)
    if media == JSON_PATCH:
        return _json_patch(target, patch)
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types "
        f"include: {JSON_PATCH}, {MERGE}" + ("" if custom else f", {STRATEGIC}"),
    )
