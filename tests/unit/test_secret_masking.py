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
    mask_url_secrets,
    secret_field_values,
    url_secrets,
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


def test_values_inside_an_object_under_a_secret_key_are_masked_at_any_depth() -> None:
    where = {
        "password": {"value": "pw-in-object"},
        "secrets": {"db": "db-secret-1", "nested": {"deep": ["x-secret-2"]}},
        "authentication": {"client": {"id": "visible-client"}},
    }

    masked = mask_secret_fields(where)

    assert masked == {
        "password": {"value": MASK},
        "secrets": {"db": MASK, "nested": {"deep": [MASK]}},
        "authentication": {"client": {"id": "visible-client"}},
    }
    assert set(secret_field_values(where)) == {
        "pw-in-object",
        "db-secret-1",
        "x-secret-2",
    }


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("http://admin:pa55-word@example.test/x", "pa55-word"),
        ("see https://bob:hunter22@h.test:8443/?a=1 now", "hunter22"),
        ("http://h.test/p?token=tk-998877&page=2", "tk-998877"),
        ("GET http://h.test/p?x=1&api_key=ak-554433 HTTP/1.1", "ak-554433"),
    ],
)
def test_url_userinfo_and_secret_query_values_are_masked_in_any_text(
    text: str, secret: str
) -> None:
    assert secret in url_secrets(text)
    assert secret not in mask_url_secrets(text)
    assert MASK in mask_url_secrets(text)
    assert secret not in SecretRedactor().redact_text(text)
    assert secret not in json.dumps(mask_secret_fields({"url": text}))


def test_plain_query_values_and_urls_without_userinfo_stay_readable() -> None:
    text = "http://h.test/p?page=2&author=ann"
    assert mask_url_secrets(text) == text


def test_the_redactor_masks_thousands_of_secrets_in_one_pass() -> None:
    # 16,000 secret-named strings in a 190 KB body: masking must be linear
    # (a quadratic pass froze the service for half a minute).
    secrets = [f"k{index:07d}-s" for index in range(16_000)]
    redactor = SecretRedactor()
    redactor.add(*secret_field_values({"api_keys": secrets}))
    body = json.dumps({"api_keys": secrets, "note": "tail k0000001-s tail"})

    masked = redactor.redact_text(body)

    assert not any(secret in masked for secret in secrets)
    assert masked.count(MASK) == 16_001
    assert masked.endswith(f'"tail {MASK} tail"}}')


def test_the_longest_secret_wins_where_two_overlap() -> None:
    redactor = SecretRedactor(["abcd", "abcdefgh"])
    assert redactor.redact_text("xabcdefghy abcdz") == f"x{MASK}y {MASK}z"
