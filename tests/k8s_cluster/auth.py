"""Who is calling (authentication) and what they may do (authorization).

Like a real API server with anonymous access off: a request without valid
credentials gets 401; an authenticated user asking for a verb they were not
granted gets 403. Bearer tokens are static, or checked by token reviewers (the
EKS one asks STS); basic authentication checks a static password list.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "ADMIN_TOKEN",
    "ALL_VERBS",
    "BASIC_PASSWORD",
    "BASIC_USER",
    "READER_TOKEN",
    "READ_VERBS",
    "Users",
]

ADMIN_TOKEN = "loopback-admin-token"
READER_TOKEN = "loopback-reader-token"
BASIC_USER = "k8s-user"
BASIC_PASSWORD = "k8s-password"
ALL_VERBS = frozenset(
    {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)
READ_VERBS = frozenset({"get", "list", "watch"})

TokenReviewer = Callable[[str], str | None]


@dataclass
class Users:
    """The cluster's users: tokens, passwords, reviewers, and granted verbs."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    passwords: dict[str, str] = field(default_factory=dict)  # user -> password
    grants: dict[str, frozenset[str]] = field(default_factory=dict)  # user -> verbs
    reviewers: list[TokenReviewer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def defaults(cls) -> Users:
        """An admin (token and basic auth) and a read-only user."""
        return cls(
            tokens={ADMIN_TOKEN: "admin", READER_TOKEN: "reader"},
            passwords={BASIC_USER: BASIC_PASSWORD},
            grants={"admin": ALL_VERBS, "reader": READ_VERBS, BASIC_USER: ALL_VERBS},
        )

    def add_token(
        self, token: str, user: str, verbs: Iterable[str] = ALL_VERBS
    ) -> None:
        with self._lock:
            self.tokens[token] = user
            self.grants[user] = frozenset(verbs)

    def grant(self, user: str, verbs: Iterable[str] = ALL_VERBS) -> None:
        with self._lock:
            self.grants[user] = frozenset(verbs)

    def add_reviewer(self, reviewer: TokenReviewer) -> None:
        with self._lock:
            self.reviewers.append(reviewer)

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        """The user an `Authorization` header proves, or None."""
        value = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, credentials = value.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            with self._lock:
                user = self.tokens.get(credentials)
                reviewers = list(self.reviewers)
            if user is not None:
                return user
            for reviewer in reviewers:
                reviewed = reviewer(credentials)
                if reviewed is not None:
                    return reviewed
            return None
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            username, _, password = decoded.partition(":")
            with self._lock:
                expected = self.passwords.get(username)
            if expected is not None and password == expected:
                return username
        return None

    def allows(self, user: str, verb: str) -> bool:
        with self._lock:
            return verb in self.grants.get(user, frozenset())
