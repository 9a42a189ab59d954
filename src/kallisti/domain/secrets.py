"""Keeping secrets out of everything Kallisti writes down.

Two rules, applied to trial records, reports, logs and API responses:
- a `where` value under a key that names a secret is replaced by the mask;
- every secret value learnt while a trial runs (credential values, fetched tokens,
  those masked values) is replaced wherever it appears in a log line or a result.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import ahocorasick_rs

__all__ = [
    "MASK",
    "SecretRedactor",
    "is_secret_key",
    "mask_secret_fields",
    "mask_url_secrets",
    "restore_masked",
    "secret_field_values",
    "url_secrets",
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
# Keys naming a block that *describes* authentication (`"authentication":
# {"type": ..., "client": {...}}`): what is inside is judged key by key.
_AUTHENTICATION_BLOCKS = frozenset(
    {"auth", "authentication", "credential", "credentials"}
)
# Values shorter than this are not hunted in free text: masking "a" or "1"
# everywhere would destroy the record without protecting anything.
_MIN_REDACTED_LENGTH = 4


@functools.lru_cache(maxsize=4096)  # the same few keys, in every experiment
def is_secret_key(key: str) -> bool:
    """Tell whether a `where` key names a secret value."""
    return key.lower() not in _SECRET_REFERENCE_KEYS and bool(_SECRET_KEY.search(key))


def _inherits_secrecy(key: str, item: Any) -> bool:
    """Whether everything below `key` is secret (`"secrets": {"db": ...}`)."""
    return (
        is_secret_key(key)
        and isinstance(item, Mapping | list)
        and key.lower() not in _AUTHENTICATION_BLOCKS
    )


def _is_secret_scalar(item: Any) -> bool:
    # A flag such as `"use_token": true` holds no secret, and hunting "True"
    # in every log line would garble the record.
    return isinstance(item, str | int | float) and not isinstance(item, bool)


def mask_secret_fields(value: Any) -> Any:
    """Return a copy of `value` with the values under secret-naming keys masked,
    at any depth below the key (`"api_keys": [...]`, `"secrets": {"db": ...}`),
    and the secrets a URL carries (`user:pass@`, `?token=`) masked in every
    string."""
    return _masked(value, under_secret_key=False)


def _masked(value: Any, *, under_secret_key: bool) -> Any:
    if isinstance(value, Mapping):
        masked: dict[Any, Any] = {}
        for key, item in value.items():
            secret = is_secret_key(str(key)) or (
                under_secret_key and str(key).lower() not in _SECRET_REFERENCE_KEYS
            )
            masked[key] = (
                MASK
                if secret and _is_secret_scalar(item)
                else _masked(
                    item,
                    under_secret_key=under_secret_key
                    or _inherits_secrecy(str(key), item),
                )
            )
        return masked
    if isinstance(value, list):
        return [
            MASK
            if under_secret_key and _is_secret_scalar(item)
            else _masked(item, under_secret_key=under_secret_key)
            for item in value
        ]
    if isinstance(value, str):
        return mask_url_secrets(value)
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
            secret = is_secret_key(str(key)) or (
                under_secret_key and str(key).lower() not in _SECRET_REFERENCE_KEYS
            )
            if secret and _is_secret_scalar(item):
                found.append(str(item))
            else:
                found.extend(
                    _secret_values(
                        item,
                        under_secret_key=under_secret_key
                        or _inherits_secrecy(str(key), item),
                    )
                )
    elif isinstance(value, list):
        for item in value:
            if under_secret_key and _is_secret_scalar(item):
                found.append(str(item))
            else:
                found.extend(_secret_values(item, under_secret_key=under_secret_key))
    elif isinstance(value, str):
        found.extend(url_secrets(value))
    return found


# `scheme://user:password@host` and `?token=...&api_key=...` inside any text.
_URL_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s]+)@"
)
_QUERY_PAIR = re.compile(r"(?P<sep>[?&;])(?P<key>[^=&#?;\s]+)=(?P<value>[^&#;\s\"']*)")


def url_secrets(text: str) -> list[str]:
    """Return the secrets URLs in `text` carry: the userinfo (and its password
    alone), and the values of secret-naming query parameters."""
    if "://" not in text and "=" not in text:
        return []
    found: list[str] = []
    for match in _URL_USERINFO.finditer(text):
        info = match["info"]
        found.append(info)
        if ":" in info:
            found.append(info.split(":", 1)[1])
    for match in _QUERY_PAIR.finditer(text):
        if match["value"] and is_secret_key(match["key"]):
            found.append(match["value"])
    return found


def mask_url_secrets(text: str) -> str:
    """Return `text` with URL userinfo and secret-naming query values masked."""
    if "://" not in text and "=" not in text:
        return text
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _QUERY_PAIR.sub(
        lambda m: (
            f"{m['sep']}{m['key']}={MASK}"
            if m["value"] and is_secret_key(m["key"])
            else m[0]
        ),
        text,
    )


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
    """Masks known secret values in text and in JSON-like data.

    Masking is one pass of an Aho-Corasick automaton over the text: linear in
    the text whatever the number of secrets (a body of 16,000 secret-named
    strings must not freeze the worker). Safe to use from several threads.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._automaton: ahocorasick_rs.AhoCorasick | None = None
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Learn secret values; short or empty ones are ignored."""
        forms: set[str] = set()
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= _MIN_REDACTED_LENGTH:
                forms |= _written_forms(secret)
                forms.add(mask_url_secrets(secret))
        forms = {form for form in forms if len(form) >= _MIN_REDACTED_LENGTH}
        with self._lock:
            if not forms <= self._secrets:
                self._secrets |= forms
                self._automaton = None

    def _matcher(self) -> ahocorasick_rs.AhoCorasick | None:
        with self._lock:
            if self._automaton is None and self._secrets:
                self._automaton = ahocorasick_rs.AhoCorasick(
                    list(self._secrets),
                    matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
                )
            return self._automaton

    def redact_text(self, text: str) -> str:
        """Return `text` with every known secret (the longest that matches at
        each place) and every URL secret masked."""
        text = mask_url_secrets(text)
        matcher = self._matcher()
        if matcher is None:
            return text
        matches = matcher.find_matches_as_indexes(text)
        if not matches:
            return text
        parts: list[str] = []
        position = 0
        for _, start, end in matches:
            parts.append(text[position:start])
            parts.append(MASK)
            position = end
        parts.append(text[position:])
        return "".join(parts)

    def redact(self, value: Any) -> Any:
        """Return a copy of JSON-like `value` with secret values masked."""
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
