"""Kallisti's pluggable classes: `KALLISTI_API_AUTH_CLASS` and
`KALLISTI_API_PERMISSION_CLASS`, each named as "module:attribute".

An authentication class has `authenticate(request)`, as in Kallisti (Django
REST framework's interface): it returns None (nobody), a user (with `user_id`,
and optionally `claims`), a `(user, auth)` pair, a user id string or a
`Principal`, and raises to refuse. A permission class has
`has_permission(request, view)` returning a bool; `view` says which route and
which permission it declares.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from kallisti.auth.principal import Permission, Principal

__all__ = [
    "AuthenticationClass",
    "PermissionClass",
    "RouteView",
    "load_plugin",
]


class AuthenticationClass(Protocol):
    def authenticate(self, request: Request) -> Any: ...


class PermissionClass(Protocol):
    def has_permission(self, request: Request, view: RouteView) -> bool: ...


@dataclass(frozen=True)
class RouteView:
    """What a permission class is told about the route being called."""

    name: str
    path: str
    method: str
    permission: Permission
    principal: Principal


def load_plugin(reference: str, setting: str) -> Any:
    """Import "module:attribute" and instantiate it when it is a class.

    Raises `ValueError` naming the setting when it cannot be loaded.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{setting} must be 'module:attribute', got {reference!r}")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"{setting}: cannot load {reference!r}: {err}") from err
    return target() if isinstance(target, type) else target
