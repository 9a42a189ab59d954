"""Deciding who a request comes from and whether it may make the call."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from kallisti.auth.errors import AccessRefused, NotAuthenticated, PermissionDenied

if TYPE_CHECKING:
    from kallisti.auth.jwt import JwtVerifier
from kallisti.auth.plugins import (
    AuthenticationClass,
    PermissionClass,
    RouteView,
    load_plugin,
)
from kallisti.auth.principal import (
    ANONYMOUS_USER,
    Permission,
    Principal,
    Role,
    roles_from_claim,
)
from kallisti.auth.tokens import MACHINE_TOKEN_PREFIX, TokenLookup
from kallisti.settings import Settings
from kallisti.store.scoping import LabelScope

__all__ = ["AccessControl"]

logger = logging.getLogger(__name__)

_DRF_DENIED = "You do not have permission to perform this action."
_SCOPE_LABEL = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class AccessControl:
    """Authenticates requests (JWT, machine token or a custom class) and checks
    their permission (roles, scope label, then a custom permission class).

    With access control off every request is the anonymous user with every
    right, and no header is even looked at: the service behaves as before.
    """

    def __init__(self, settings: Settings, tokens: TokenLookup | None) -> None:
        if settings.auth_scope_label:
            _check_scope_label(settings)
        self.enabled = settings.access_control
        self.scope_label = settings.auth_scope_label
        self._user_id_claim = settings.claim_user_id_key
        self._roles_claim = settings.auth_roles_claim
        self._tokens = tokens
        self._verifier: JwtVerifier | None = None
        if settings.auth_jwt_token_url or settings.auth_jwks_url:
            if not settings.auth_jwks_url or not settings.auth_jwt_audience:
                raise ValueError(
                    "JWT access control needs KALLISTI_AUTH_JWKS_URL and "
                    "KALLISTI_AUTH_JWT_AUDIENCE"
                )
            # Imported here: PyJWT loads the cryptography bindings (tens of MiB)
            # that a service without JWTs never needs.
            from kallisti.auth.jwt import JwtVerifier

            self._verifier = JwtVerifier(
                settings.auth_jwks_url,
                audience=settings.auth_jwt_audience,
                issuer=settings.auth_jwt_issuer,
                leeway_seconds=settings.auth_jwt_leeway_seconds,
                refresh_seconds=settings.auth_jwks_refresh_seconds,
            )
        self._custom: AuthenticationClass | None = (
            load_plugin(settings.api_auth_class, "KALLISTI_API_AUTH_CLASS")
            if settings.api_auth_class
            else None
        )
        self._permission: PermissionClass | None = (
            load_plugin(settings.api_permission_class, "KALLISTI_API_PERMISSION_CLASS")
            if settings.api_permission_class
            else None
        )

    def authenticate(self, request: Request) -> Principal:
        """Return the caller; raises `NotAuthenticated` or `AuthUnavailable`."""
        if not self.enabled:
            return Principal(ANONYMOUS_USER)
        token = _bearer(request)
        if token is not None and token.startswith(MACHINE_TOKEN_PREFIX):
            return self._machine_token(token)
        if self._custom is not None:
            return self._custom_principal(request)
        if token is None:
            raise NotAuthenticated(
                "No authorization token found: send Authorization: Bearer <token>.",
                error="",
            )
        if self._verifier is None:
            raise NotAuthenticated("Only machine tokens are accepted here.")
        return self._from_claims(self._verifier.verify(token), kind="jwt")

    def authorize(
        self, request: Request, principal: Principal, permission: Permission
    ) -> None:
        """Raise `PermissionDenied` unless `principal` may call this route."""
        if not principal.may(permission):
            raise PermissionDenied(
                f"This call needs the {permission.value!r} permission; "
                f"your roles ({', '.join(principal.role_names()) or 'none'}) "
                "do not grant it."
            )
        if self._permission is None or permission is Permission.PUBLIC:
            return
        route = request.scope.get("route")
        view = RouteView(
            name=getattr(route, "name", ""),
            path=getattr(route, "path", request.url.path),
            method=request.method,
            permission=permission,
            principal=principal,
        )
        try:
            allowed = self._permission.has_permission(request, view)
        except AccessRefused:
            raise
        except Exception:
            logger.exception(
                "the permission class failed", extra={"action": "permission_error"}
            )
            allowed = False
        if not allowed:
            raise PermissionDenied(getattr(self._permission, "message", _DRF_DENIED))

    def scope_for(self, principal: Principal) -> LabelScope | None:
        """The experiments `principal` may see and act on; None: all of them.

        With a scope label set, only an explicit `admin` role sees everything.
        Every other caller sees the experiments labelled with its claim's
        values, and none when it has no such claim: a machine token, or a
        principal from a custom class that set no scopes, sees nothing.
        """
        if not self.enabled or not self.scope_label:
            return None
        if principal.roles is not None and Role.ADMIN in principal.roles:
            return None
        return LabelScope(self.scope_label, principal.scopes or frozenset())

    def check_labels(self, principal: Principal, labels: Mapping[str, Any]) -> None:
        """Raise `PermissionDenied` unless an experiment carrying `labels` (its
        new metadata) would be in `principal`'s scope."""
        scope = self.scope_for(principal)
        if scope is None or scope.admits(labels):
            return
        mine = ", ".join(repr(v) for v in sorted(scope.values)) or "none"
        raise PermissionDenied(
            f"The experiment's metadata must carry {scope.label!r} set to one of "
            f"your scopes ({mine}); it has {labels.get(scope.label)!r}."
        )

    def _machine_token(self, token: str) -> Principal:
        if self._tokens is None:
            raise NotAuthenticated("Machine tokens are not accepted here.")
        found = self._tokens.principal_for(token)
        if found is None:
            raise NotAuthenticated("The machine token is unknown, revoked or expired.")
        return found

    def _custom_principal(self, request: Request) -> Principal:
        assert self._custom is not None
        try:
            result = self._custom.authenticate(request)
        except AccessRefused:
            raise
        except Exception as err:
            # A custom class refuses by raising (DRF's AuthenticationFailed);
            # its message is meant for the caller.
            raise NotAuthenticated(str(err) or "Authentication failed.") from None
        if isinstance(result, tuple):
            result = result[0] if result else None
        if result is None:
            raise NotAuthenticated(
                "Authentication credentials were not provided.", error=""
            )
        if isinstance(result, Principal):
            return result
        if isinstance(result, str):
            return self._from_claims({self._user_id_claim: result}, kind="custom")
        claims = getattr(result, "claims", None)
        claims = dict(claims) if isinstance(claims, Mapping) else {}
        user_id = getattr(result, "user_id", None) or claims.get(self._user_id_claim)
        claims[self._user_id_claim] = user_id
        return self._from_claims(claims, kind="custom")

    def _from_claims(self, claims: Mapping[str, Any], *, kind: str) -> Principal:
        user_id = claims.get(self._user_id_claim)
        if user_id is None or isinstance(user_id, dict | list):
            raise NotAuthenticated(
                f"The token has no usable {self._user_id_claim!r} claim."
            )
        roles = (
            roles_from_claim(_claim(claims, self._roles_claim))
            if self._roles_claim
            else None
        )
        scopes = None
        if self.scope_label:
            value = _claim(claims, self.scope_label)
            values = value if isinstance(value, list) else [value]
            scopes = frozenset(str(v) for v in values if v is not None)
        return Principal(
            str(user_id)[:255], kind=kind, roles=roles, scopes=scopes, claims=claims
        )


def _check_scope_label(settings: Settings) -> None:
    if not _SCOPE_LABEL.fullmatch(settings.auth_scope_label):
        raise ValueError(
            "KALLISTI_AUTH_SCOPE_LABEL must be 1-64 letters, digits or _.:-"
        )
    if not settings.access_control:
        # Everyone is the anonymous user then: nothing could be scoped.
        raise ValueError(
            "KALLISTI_AUTH_SCOPE_LABEL needs access control on (JWTs, a custom "
            "authentication class or machine tokens)"
        )


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name; dotted names reach into objects (`realm_access.roles`)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Invalid user token: expected 'Bearer <token>'.")
    return token.strip()
