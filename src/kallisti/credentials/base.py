"""Credentials handed to actions, built from a step's `where.credentials`.

A credential type is a class with a `type` name and a `from_spec` constructor;
built-in and third-party types are found the same way (entry points, group
``kallisti.credentials``), and the settings may override the map.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from kallisti.domain.errors import CredentialError

__all__ = ["Credential", "CredentialContext", "require_field"]


@dataclass(frozen=True)
class CredentialContext:
    """What a credential may need to know about this service's installation."""

    service_account_token_path: str = (
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )
    environ: Mapping[str, str] = field(default_factory=dict)


class Credential(ABC):
    """A secret an action needs; `secrets()` lists the values to keep out of records."""

    type: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: Mapping[str, Any], context: CredentialContext) -> Self:
        """Build the credential; raises `CredentialError` naming what is wrong."""

    @abstractmethod
    def secrets(self) -> list[str]:
        """The secret values this credential holds."""

    def describe(self) -> str:
        """A line naming the credential for error messages, never its value."""
        return f"credential of type {self.type}"


def require_field(spec: Mapping[str, Any], name: str, credential_type: str) -> str:
    """Return a required string field of a credential spec, or raise."""
    value = spec.get(name)
    if not isinstance(value, str) or not value:
        raise CredentialError(
            f"credentials of type {credential_type} need `{name}` (a non-empty string)."
        )
    return value
