"""Credential types and their registry: built from step specs, secrets kept apart."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from kallisti.credentials import (
    CredentialContext,
    CredentialRegistry,
    EnvVarUsernamePasswordCredential,
    K8sServiceAccountTokenFileCredential,
    TokenFileCredential,
)
from kallisti.domain.errors import CredentialError

ENV = {"APP_USER": "alice", "APP_PASSWORD": "alice-pw-123"}
BUILTIN_TYPES = ["ENV_VAR_USERNAME_PASSWORD", "K8S_SVC_ACC_TOKEN_FILE", "TOKEN_FILE"]


@pytest.fixture
def registry() -> CredentialRegistry:
    return CredentialRegistry.discover(CredentialContext(environ=ENV))


def test_the_three_kallisti_types_are_found_through_entry_points(
    registry: CredentialRegistry,
) -> None:
    assert registry.types == BUILTIN_TYPES


def test_env_var_credentials_read_both_variables_and_both_are_secret(
    registry: CredentialRegistry,
) -> None:
    credential = registry.build(
        {
            "type": "ENV_VAR_USERNAME_PASSWORD",
            "username_key": "APP_USER",
            "password_key": "APP_PASSWORD",
        }
    )

    assert isinstance(credential, EnvVarUsernamePasswordCredential)
    assert (credential.username, credential.password) == ("alice", "alice-pw-123")
    # The username too: token endpoints quote it in their refusals.
    assert credential.secrets() == ["alice-pw-123", "alice"]
    assert credential.describe() == (
        "credential of type ENV_VAR_USERNAME_PASSWORD (username from $APP_USER, "
        "password from $APP_PASSWORD)"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"type": "ENV_VAR_USERNAME_PASSWORD", "password_key": "APP_PASSWORD"},
            "credentials of type ENV_VAR_USERNAME_PASSWORD need `username_key` "
            "(a non-empty string).",
        ),
        (
            {
                "type": "ENV_VAR_USERNAME_PASSWORD",
                "username_key": "U",
                "password_key": 3,
            },
            "credentials of type ENV_VAR_USERNAME_PASSWORD need `password_key` "
            "(a non-empty string).",
        ),
        (
            {
                "type": "ENV_VAR_USERNAME_PASSWORD",
                "username_key": "NO_USER",
                "password_key": "NO_PW",
            },
            "Environment variable(s) NO_USER, NO_PW not set on the Kallisti worker; "
            "set them where the worker runs.",
        ),
        (
            {"type": "TOKEN_FILE"},
            "credentials of type TOKEN_FILE need `token_path` (a non-empty string).",
        ),
        (
            {"type": "KERBEROS"},
            "Invalid credential type: 'KERBEROS'; use one of "
            + ", ".join(BUILTIN_TYPES)
            + ".",
        ),
        (
            {"username_key": "APP_USER"},
            "Invalid credential type: None; use one of "
            + ", ".join(BUILTIN_TYPES)
            + ".",
        ),
        ("TOKEN_FILE", "`credentials` must be an object with a `type`."),
    ],
)
def test_malformed_specs_raise_a_credential_error_naming_the_problem(
    registry: CredentialRegistry, spec: object, message: str
) -> None:
    with pytest.raises(CredentialError) as caught:
        registry.build(spec)

    assert str(caught.value) == message


def test_a_token_file_is_read_and_stripped(
    registry: CredentialRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    path.write_text("  tok-abc-123\n", encoding="utf-8")

    credential = registry.build({"type": "TOKEN_FILE", "token_path": str(path)})

    assert isinstance(credential, TokenFileCredential)
    assert credential.token == "tok-abc-123"
    assert credential.secrets() == ["tok-abc-123"]
    assert "tok-abc-123" not in credential.describe()


def test_an_empty_token_file_is_refused(
    registry: CredentialRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    path.write_text("\n", encoding="utf-8")

    with pytest.raises(CredentialError, match=r"TOKEN_FILE: .*token is empty\."):
        registry.build({"type": "TOKEN_FILE", "token_path": str(path)})


def test_the_service_account_token_is_read_from_the_installation_path(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sa"
    path.write_text("sa-token", encoding="utf-8")
    registry = CredentialRegistry.discover(
        CredentialContext(service_account_token_path=str(path))
    )

    credential = registry.build(
        {"type": "K8S_SVC_ACC_TOKEN_FILE", "token_path": "/ignored/by/design"}
    )

    assert isinstance(credential, K8sServiceAccountTokenFileCredential)
    assert credential.token == "sa-token"


def test_a_missing_service_account_token_says_which_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-token"
    registry = CredentialRegistry.discover(
        CredentialContext(service_account_token_path=str(missing))
    )

    with pytest.raises(CredentialError) as caught:
        registry.build({"type": "K8S_SVC_ACC_TOKEN_FILE"})

    assert str(caught.value) == (
        "credentials of type K8S_SVC_ACC_TOKEN_FILE: cannot read the token file "
        f"{missing}: No such file or directory."
    )


def test_a_credential_type_can_be_plugged_in_by_the_settings_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"vault_credentials_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            from kallisti.credentials import Credential


            class VaultCredential(Credential):
                type = "VAULT"

                def __init__(self, secret: str) -> None:
                    self.secret = secret

                @classmethod
                def from_spec(cls, spec, context):
                    return cls("vault:" + spec["path"])

                def secrets(self) -> list[str]:
                    return [self.secret]


            class NotACredential:
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    context = CredentialContext()

    registry = CredentialRegistry.discover(
        context, {"VAULT": f"{module}:VaultCredential"}
    )

    assert registry.types == sorted([*BUILTIN_TYPES, "VAULT"])
    assert registry.build({"type": "VAULT", "path": "kv/app"}).secrets() == [
        "vault:kv/app"
    ]
    with pytest.raises(TypeError, match="is not a Credential class"):
        CredentialRegistry.discover(context, {"X": f"{module}:NotACredential"})
