"""The credential types Kallisti 1.x defines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from kallisti.credentials.base import Credential, CredentialContext, require_field
from kallisti.domain.errors import CredentialError

__all__ = [
    "EnvVarUsernamePasswordCredential",
    "K8sServiceAccountTokenFileCredential",
    "TokenCredential",
    "TokenFileCredential",
]


class EnvVarUsernamePasswordCredential(Credential):
    """A username and a password read from two environment variables."""

    type = "ENV_VAR_USERNAME_PASSWORD"

    def __init__(
        self, username: str, password: str, username_key: str, password_key: str
    ):
        self.username = username
        self.password = password
        self.username_key = username_key
        self.password_key = password_key

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], context: CredentialContext) -> Self:
        username_key = require_field(spec, "username_key", cls.type)
        password_key = require_field(spec, "password_key", cls.type)
        missing = [
            key for key in (username_key, password_key) if key not in context.environ
        ]
        if missing:
            raise CredentialError(
                "Environment variable(s) "
                + ", ".join(missing)
                + " not set on the Kallisti worker; set them where the worker runs."
            )
        return cls(
            context.environ[username_key],
            context.environ[password_key],
            username_key,
            password_key,
        )

    def secrets(self) -> list[str]:
        # The username too: with the password it is half of a login, and error
        # lines of token endpoints quote it.
        return [self.password, self.username]

    def describe(self) -> str:
        return (
            f"credential of type {self.type} (username from ${self.username_key}, "
            f"password from ${self.password_key})"
        )


class TokenCredential(Credential):
    """A bearer token read from a file; the base of the file-backed token types."""

    type = "TOKEN"

    def __init__(self, token: str, token_path: str) -> None:
        self.token = token
        self.token_path = token_path

    @classmethod
    def _read(cls, path: str) -> Self:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise CredentialError(
                f"credentials of type {cls.type}: cannot read the token file {path}: "
                f"{err.strerror or err}."
            ) from None
        if not token:
            raise CredentialError(f"credentials of type {cls.type}: {path} is empty.")
        return cls(token, path)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], context: CredentialContext) -> Self:
        return cls._read(require_field(spec, "token_path", cls.type))

    def secrets(self) -> list[str]:
        return [self.token]

    def describe(self) -> str:
        return f"credential of type {self.type} (token file {self.token_path})"


class TokenFileCredential(TokenCredential):
    """A bearer token read from `token_path`."""

    type = "TOKEN_FILE"


class K8sServiceAccountTokenFileCredential(TokenCredential):
    """The in-cluster Kubernetes service-account token (the `k8s` default)."""

    type = "K8S_SVC_ACC_TOKEN_FILE"

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], context: CredentialContext) -> Self:
        return cls._read(context.service_account_token_path)
