"""Which class builds each credential `type`: entry points plus the settings' map."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from kallisti.credentials.base import Credential, CredentialContext
from kallisti.domain.errors import CredentialError

__all__ = ["ENTRY_POINT_GROUP", "CredentialRegistry"]

ENTRY_POINT_GROUP = "kallisti.credentials"


def _load(path: str) -> type[Credential]:
    module_name, _, attribute = path.partition(":")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(loaded, type) and issubclass(loaded, Credential)):
        raise TypeError(f"{path} is not a Credential class")
    return loaded


class CredentialRegistry:
    """Builds credentials from step specs such as ``{"type": "TOKEN_FILE", ...}``."""

    def __init__(
        self,
        credential_types: Mapping[str, type[Credential]],
        context: CredentialContext,
    ) -> None:
        self._types = dict(credential_types)
        self.context = context

    @classmethod
    def discover(
        cls, context: CredentialContext, overrides: Mapping[str, str] | None = None
    ) -> CredentialRegistry:
        """Load types from entry points, then `overrides` (type → "module:Class")."""
        paths = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
        paths.update(overrides or {})
        return cls({name: _load(path) for name, path in paths.items()}, context)

    @property
    def types(self) -> list[str]:
        return sorted(self._types)

    def build(self, spec: Any) -> Credential:
        """Return the credential `spec` describes; raises `CredentialError`."""
        if not isinstance(spec, Mapping):
            raise CredentialError("`credentials` must be an object with a `type`.")
        credential_type = spec.get("type")
        credential_class = self._types.get(str(credential_type))
        if credential_class is None:
            raise CredentialError(
                f"Invalid credential type: {credential_type!r}; use one of "
                + ", ".join(self.types)
                + "."
            )
        return credential_class.from_spec(spec, self.context)
