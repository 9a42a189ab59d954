"""Secret masking: keys that name a secret, and secret values in free text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kallisti.domain.secrets import (
    MASK,
    SecretRedactor,
    is_secret_key,
    mask_secret_fields,
    secret_field_values,
)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "api_key",
        "apiKey",
        "API-KEY",
        "Authorization",
        "private_key",
        "cookie",
        "session_id",
        "aws_access_key",
    ],
)
def test_keys_that_name_a_secret_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "password_key",
        "username_key",
        "token_path",
        "token_key",
        "type",
        "author",
        "url",
        "username",
        "label_selector",
    ],
)
def test_keys_that_only_say_where_a_secret_lives_stay_visible(key: str) -> None:
    assert not is_secret_key(key)


def test_mask_secret_fields_masks_values_at_any_depth_and_keeps_the_rest() -> None:
    where: dict[str, Any] = {
        "url": "http://127.0.0.1/",
        "api_key": "k-123456",
        "headers": {"Authorization": "Bearer abcdef", "Accept": "text/plain"},
        "authentication": {
            "type": "oauth2_token",
            "client": {"id": "my-client", "secret": "client-secret-1"},
            "credentials": {
                "type": "ENV_VAR_USERNAME_PASSWORD",
                "username_key": "APP_USER",
                "password_key": "APP_PASSWORD",
            },
        },
        "items": [{"password": "in-a-list"}],
    }

    masked = mask_secret_fields(where)

    assert masked == {
        "url": "http://127.0.0.1/",
        "api_key": MASK,
        "headers": {"Authorization": MASK, "Accept": "text/plain"},
        "authentication": {
            "type": "oauth2_token",
            "client": {"id": "my-client", "secret": MASK},
            "credentials": {
                "type": "ENV_VAR_USERNAME_PASSWORD",
                "username_key": "APP_USER",
                "password_key": "APP_PASSWORD",
            },
        },
        "items": [{"password": MASK}],
    }
    assert where["api_key"] == "k-123456", "the input is not changed"


def test_the_redactor_masks_every_occurrence_in_text_and_data() -> None:
    redactor = SecretRedactor(["hunter22"])

    assert redactor.redact_text("pw=hunter22; again hunter22") == (
        f"pw={MASK}; again {MASK}"
    )
    assert redactor.redact({"a": ["x hunter22 y"], "hunter22": 1}) == {
        "a": [f"x {MASK} y"],
        MASK: 1,
    }


def test_short_secrets_are_not_hunted_in_free_text() -> None:
    redactor = SecretRedactor(["abc", "", None])  # type: ignore[list-item]

    assert redactor.redact_text("abc abc") == "abc abc"


def test_a_secret_containing_another_is_masked_whole() -> None:
    redactor = SecretRedactor(["token", "token-extended"])

    assert redactor.redact_text("token-extended") == MASK


@pytest.mark.parametrize(
    "secret",
    ["it's\"complex\\pw", "tab\tand\nnewline", "pässwörd€", "quote'only", 'dq"only'],
)
def test_a_secret_is_masked_in_the_escaped_forms_a_log_line_writes_it(
    secret: str,
) -> None:
    redactor = SecretRedactor([secret])
    echoed_body = json.dumps({"echo": secret})
    ascii_body = json.dumps({"echo": secret}, ensure_ascii=False)
    written = [
        secret,
        f"Result: { ({'echo': secret}) }.",
        f"Result: { ({'response_text': echoed_body}) }.",
        f"Result: { ({'response_text': ascii_body}) }.",
        f"Result: { ({'text': 'say ' + secret + ' it' + chr(39)}) }.",
        echoed_body,
    ]

    for line in written:
        assert secret not in redactor.redact_text(line)
        assert MASK in redactor.redact_text(line), line


def test_items_of_a_list_under_a_secret_key_are_masked() -> None:
    where = {"api_keys": ["k-1111-aaaa", "k-2222-bbbb"], "hosts": ["a", "b"]}

    assert mask_secret_fields(where) == {"api_keys": [MASK, MASK], "hosts": ["a", "b"]}
    assert secret_field_values(where) == ["k-1111-aaaa", "k-2222-bbbb"]


def test_a_flag_under_a_secret_key_is_kept_and_not_hunted_in_text() -> None:
    where = {"use_token": True, "verify_password": False, "token_ttl": 3600}

    assert mask_secret_fields(where) == {
        "use_token": True,
        "verify_password": False,
        "token_ttl": MASK,
    }
    assert secret_field_values(where) == ["3600"]
