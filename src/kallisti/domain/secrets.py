"""Keeping secrets out of everything Kallisti writes down.

Two rules, applied to trial records, reports, logs and API responses:
- a `where` value under a key that names a secret is replaced by the mask;
- every secret value learnt while a trial runs (credential values, fetched tokens,
  those masked values) is replaced wherever it appears in a log line or a result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MASK",
    "SecretRedactor",
    "is_secret_key",
    "mask_secret_fields",
    "restore_masked",
]

MASK = "*****"

# `author` and `authority` name no secret; `Authorization` (a header) does.
_SECRET_KEY = re.compile(
    r"secret|passw(or)?d|pwd|token|api[_-]?key|apikey|private[_-]?key|"
    r"auth(?!or(?!i[sz]))|cookie|credential|session[_-]?id|access[_-]?key",
    re.IGNORECASE,
)
# Keys that *name where* a secret lives, not the secret itself.
_SECRET_REFERENCE_KEYS = frozenset(
    {"username_key", "password_key", "token_path", "token_key", "type"}
)
# Values shorter than this are not hunted in free text: masking "a" or "1"
# everywhere would destroy the record without protecting anything.
_MIN_REDACTED_LENGTH = 4


def is_secret_key(key: str) -> bool:
    """Tell whether a `where` key names a secret value."""
    return key.lower() not in _SECRET_REFERENCE_KEYS and bool(_SECRET_KEY.search(key))


def _is_secret_scalar(item: Any) -> bool:
    # A flag such as `"use_token": true` holds no secret, and hunting "True"
    # in every log line would garble the record.
    return isinstance(item, str | int | float) and not isinstance(item, bool)


def mask_secret_fields(value: Any) -> Any:
    """Return a copy of `value` with the values under secret-naming keys masked
    (the items of a list under such a key too: `"api_keys": [...]`)."""
    return _masked(value, under_secret_key=False)


def _masked(value: Any, *, under_secret_key: bool) -> Any:
    if isinstance(value, Mapping):
        masked: dict[Any, Any] = {}
        for key, item in value.items():
            secret = is_secret_key(str(key))
            masked[key] = (
                MASK
                if secret and _is_secret_scalar(item)
                else _masked(item, under_secret_key=secret and isinstance(item, list))
            )
        return masked
    if isinstance(value, list):
        return [
            MASK
            if under_secret_key and _is_secret_scalar(item)
            else _masked(item, under_secret_key=under_secret_key)
            for item in value
        ]
    return value


def restore_masked(new: Any, old: Any) -> Any:
    """Return `new` with each mask put back to the value `old` holds at the same
    place: a client that reads a masked experiment and sends it back (PUT)
    keeps its secrets instead of storing the mask. Lists match by index."""
    if isinstance(new, str) and new == MASK and _is_secret_scalar(old):
        return old
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        return {key: restore_masked(item, old.get(key)) for key, item in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return [
            restore_masked(item, old[index] if index < len(old) else None)
            for index, item in enumerate(new)
        ]
    return new


def secret_field_values(value: Any) -> list[str]:
    """Return the scalar values found under secret-naming keys, at any depth."""
    return _secret_values(value, under_secret_key=False)


def _secret_values(value: Any, *, under_secret_key: bool) -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            secret = is_secret_key(str(key))
            if secret and _is_secret_scalar(item):
                found.append(str(item))
            else:
                found.extend(
                    _secret_values(
                        item, under_secret_key=secret and isinstance(item, list)
                    )
                )
    elif isinstance(value, list):
        for item in value:
            if under_secret_key and _is_secret_scalar(item):
                found.append(str(item))
            else:
                found.extend(_secret_values(item, under_secret_key=under_secret_key))
    return found


def _repr_forms(text: str) -> set[str]:
    # How `text` reads inside a Python repr ("Result: {...}" lines): quotes,
    # backslashes and control characters escaped, in a '...' or a "..." string.
    single = repr(text + "'\"")[1:-4]
    return {single, single.replace("\\'", "'")}


def _written_forms(secret: str) -> set[str]:
    """The secret as it may be written down: raw, JSON-escaped (an echoed
    body), Python-repr-escaped (a logged result), and repr of JSON."""
    json_forms = {
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    forms = {secret, *json_forms}
    for form in (secret, *json_forms):
        forms |= _repr_forms(form)
    return forms


class SecretRedactor:
    """Masks known secret values in text and in JSON-like data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Learn secret values; short or empty ones are ignored."""
        for secret in secrets:
            if secret and len(secret) >= _MIN_REDACTED_LENGTH:
                self._secrets.update(_written_forms(secret))

    def redact_text(self, text: str) -> str:
        # Longest first, so a secret containing another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def redact(self, value: Any) -> Any:
        """Return a copy of JSON-like `value` with secret values masked."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {
                self.redact_text(str(key)): self.redact(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact(item) for item in value]
        return value
