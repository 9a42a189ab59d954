"""Custom authentication and permission classes, written as Kallisti users
write them (Django REST framework's interface), for the plug-in tests."""

from __future__ import annotations

from typing import Any


class AuthenticationFailed(Exception):
    """What a DRF class raises to refuse a caller."""


class ApiKeyUser:
    def __init__(self, user_id: str, claims: dict[str, Any]) -> None:
        self.user_id = user_id
        self.claims = claims


class ApiKeyAuthentication:
    """Callers send `X-Api-Key: <user>:<role>`."""

    def authenticate(self, request: Any) -> tuple[ApiKeyUser, None] | None:
        key = request.headers.get("x-api-key")
        if key is None:
            return None
        user, _, role = key.partition(":")
        if user == "banned":
            raise AuthenticationFailed("This key is banned.")
        return ApiKeyUser(user, {"roles": [role]}), None


class NoDeletes:
    message = "Deleting is switched off here."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.method != "DELETE")
