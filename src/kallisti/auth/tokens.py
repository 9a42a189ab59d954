"""Machine tokens for CI pipelines: random secrets of which only a hash is kept.

`MachineTokens` is the one service the API (`/api/v1/token`) and the CLI
(`kallisti token ...`) both use.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol

from kallisti.auth.principal import Principal, Role
from kallisti.domain.tokens import (
    MachineTokenCreate,
    MachineTokenCreated,
    MachineTokenPublic,
    parse_lifetime,
)
from kallisti.store.tokens import TokenRepository

__all__ = [
    "MACHINE_TOKEN_PREFIX",
    "MachineTokens",
    "TokenLookup",
    "hash_token",
    "new_token",
]

MACHINE_TOKEN_PREFIX = "kallisti_mt_"
"""Tells a machine token from a JWT at a glance (and to secret scanners)."""


class TokenLookup(Protocol):
    def principal_for(self, token: str) -> Principal | None:
        """The caller a live token stands for, or None."""
        ...


def new_token() -> str:
    """A fresh token: 256 random bits after the prefix."""
    return MACHINE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # The secret has 256 random bits: a plain SHA-256 cannot be brute-forced,
    # so no slow password hash is needed (and lookups stay one index probe).
    return hashlib.sha256(token.encode()).hexdigest()


class MachineTokens:
    """Creates, lists and revokes machine tokens, and says whom one stands for."""

    def __init__(self, repository: TokenRepository) -> None:
        self._repository = repository

    def create(
        self, request: MachineTokenCreate, created_by: str
    ) -> MachineTokenCreated:
        """Create a token and return it with its secret (the only time it is
        shown). Raises `InvalidInput` when a live token has the name."""
        secret = new_token()
        record = self._repository.create(
            name=request.name,
            role=request.role,
            token_hash=hash_token(secret),
            created_by=created_by,
            lifetime=None
            if request.expires is None
            else parse_lifetime(request.expires),
        )
        return MachineTokenCreated(**record.model_dump(), token=secret)

    def list(self, *, include_revoked: bool = False) -> list[MachineTokenPublic]:
        return self._repository.list(include_revoked=include_revoked)

    def revoke(self, name: str) -> MachineTokenPublic:
        """Revoke the live token named `name`; raises `NotFound`."""
        return self._repository.revoke(name)

    def principal_for(self, token: str) -> Principal | None:
        record = self._repository.find_live(hash_token(token))
        if record is None:
            return None
        return Principal(
            f"token:{record.name}", kind="token", roles=frozenset({Role(record.role)})
        )
