"""Who is calling and what each role may do. Plain values, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ANONYMOUS_USER",
    "Permission",
    "Principal",
    "Role",
    "roles_from_claim",
]

ANONYMOUS_USER = "anonymous_user"
"""Kallisti's user id when access control is off (`created_by`, `initiated_by`)."""


class Permission(enum.Enum):
    """What a route needs. Each route declares exactly one."""

    PUBLIC = "public"
    """No credential at all (health checks)."""
    READ = "read"
    OPERATE = "operate"
    """Start and stop trials."""
    EDIT = "edit"
    """Create, change and delete experiments and schedules."""
    ADMIN = "admin"
    """Notification settings, machine tokens, the audit trail, the halt switch."""


class Role(enum.Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    EDITOR = "editor"
    ADMIN = "admin"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.PUBLIC, Permission.READ}),
    Role.OPERATOR: frozenset({Permission.PUBLIC, Permission.READ, Permission.OPERATE}),
    Role.EDITOR: frozenset(
        {Permission.PUBLIC, Permission.READ, Permission.OPERATE, Permission.EDIT}
    ),
    Role.ADMIN: frozenset(Permission),
}


def roles_from_claim(value: Any) -> frozenset[Role]:
    """Read a roles claim (a list of names or one name); unknown names are ignored."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple):
        return frozenset()
    known = {role.value: role for role in Role}
    return frozenset(
        known[name.strip().lower()]
        for name in names
        if isinstance(name, str) and name.strip().lower() in known
    )


@dataclass(frozen=True)
class Principal:
    """A caller that proved who it is (or anyone, with access control off).

    `roles` is None when roles are not configured: every valid caller may do
    everything, as in Kallisti. `scopes` holds the caller's values of the scope
    label's claim (`AccessControl.scope_for` turns them into what it may see).
    """

    user_id: str
    kind: str = "anonymous"
    """"jwt", "token" (a machine token), "custom" or "anonymous"."""
    roles: frozenset[Role] | None = None
    scopes: frozenset[str] | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    def may(self, permission: Permission) -> bool:
        if self.roles is None or permission is Permission.PUBLIC:
            return True
        return any(permission in _GRANTS[role] for role in self.roles)

    def role_names(self) -> list[str]:
        if self.roles is None:
            return ["*"]
        return sorted(role.value for role in self.roles)


ANONYMOUS = Principal(ANONYMOUS_USER)
