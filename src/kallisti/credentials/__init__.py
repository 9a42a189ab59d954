"""Credential types and the registry that builds them from step data."""

from kallisti.credentials.base import Credential, CredentialContext
from kallisti.credentials.builtin import (
    EnvVarUsernamePasswordCredential,
    K8sServiceAccountTokenFileCredential,
    TokenCredential,
    TokenFileCredential,
)
from kallisti.credentials.registry import CredentialRegistry

__all__ = [
    "Credential",
    "CredentialContext",
    "CredentialRegistry",
    "EnvVarUsernamePasswordCredential",
    "K8sServiceAccountTokenFileCredential",
    "TokenCredential",
    "TokenFileCredential",
]
