"""Machine tokens for CI pipelines: random secrets of which only a hash is kept."""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol

from kallisti.auth.principal import Principal

__all__ = ["MACHINE_TOKEN_PREFIX", "TokenLookup", "hash_token", "new_token"]

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
