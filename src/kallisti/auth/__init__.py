"""Who is calling (JWT/JWKS, machine tokens, pluggable classes) and what they
may do (roles, label scopes). The api depends on it through one `Annotated`
alias per permission (`kallisti.api.deps`)."""

from kallisti.auth.access import AccessControl
from kallisti.auth.dependencies import (
    check_permissions_declared,
    declared_permission,
    requires,
)
from kallisti.auth.errors import (
    AccessRefused,
    AuthUnavailable,
    NotAuthenticated,
    PermissionDenied,
    RateLimited,
)
from kallisti.auth.principal import ANONYMOUS_USER, Permission, Principal, Role

__all__ = [
    "ANONYMOUS_USER",
    "AccessControl",
    "AccessRefused",
    "AuthUnavailable",
    "NotAuthenticated",
    "Permission",
    "PermissionDenied",
    "Principal",
    "RateLimited",
    "Role",
    "check_permissions_declared",
    "declared_permission",
    "requires",
]
