"""Why a caller was turned away. Each carries its HTTP status and headers;
`kallisti.api.errors` answers them as ``{"detail": message}``.

The hierarchy::

    KallistiError
    └── AccessRefused            the caller may not do this (API: its status)
        ├── NotAuthenticated     no valid credential (401, WWW-Authenticate: Bearer)
        ├── PermissionDenied     valid caller, insufficient role or scope (403)
        ├── RateLimited          too many trials started lately (429, Retry-After)
        └── AuthUnavailable      the key set cannot be fetched just now (503)
"""

from __future__ import annotations

import math

from kallisti.domain.errors import KallistiError

__all__ = [
    "AccessRefused",
    "AuthUnavailable",
    "NotAuthenticated",
    "PermissionDenied",
    "RateLimited",
]


class AccessRefused(KallistiError):
    """Root of the refusals; `status_code` and `headers` go on the answer."""

    status_code = 403

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


class NotAuthenticated(AccessRefused):
    """Raised when a call carries no bearer token, or one that does not verify."""

    status_code = 401

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        # RFC 6750: say which scheme, and why, without echoing the token.
        challenge = f'Bearer error="{error}"' if error else "Bearer"
        super().__init__(message, {"WWW-Authenticate": challenge})


class PermissionDenied(AccessRefused):
    """Raised when a verified caller's roles, scope or permission class forbid
    the call."""

    status_code = 403


class RateLimited(AccessRefused):
    """Raised when a caller has started more trials than the limit allows."""

    status_code = 429

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        retry = max(1, math.ceil(retry_after_seconds))
        super().__init__(message, {"Retry-After": str(retry)})


class AuthUnavailable(AccessRefused):
    """Raised when a token's key is unknown and the key set (JWKS) cannot be
    fetched: the token may be good, so this is not a 401."""

    status_code = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, {"Retry-After": "5"})
