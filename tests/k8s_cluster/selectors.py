"""Label and field selectors, parsed and matched as the API server does.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``,
``a``, ``!a``, joined by commas (all must hold). Field selectors: ``path=value``,
``path==value``, ``path!=value``, joined by commas; only the fields a kind
supports are accepted, as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ApiError

__all__ = ["Matcher", "parse_field_selector", "parse_label_selector"]

Matcher = Callable[[Mapping[str, Any]], bool]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_TERM = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_TERM = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS_TERM = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split at commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def _label_term(term: str) -> Matcher:
    if match := _SET_TERM.match(term):
        key, op, values = match.group(1), match.group(3), match.group(4)
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda obj: _labels(obj).get(key) in allowed
        return lambda obj: _labels(obj).get(key) not in allowed
    if match := _EQ_TERM.match(term):
        key, op, value = match.group(1), match.group(3), match.group(4)
        if op == "!=":
            return lambda obj: _labels(obj).get(key) != value
        return lambda obj: _labels(obj).get(key) == value
    if match := _EXISTS_TERM.match(term):
        negated, key = match.group(1) == "!", match.group(2)
        if negated:
            return lambda obj: key not in _labels(obj)
        return lambda obj: key in _labels(obj)
    raise ApiError.bad_request(f"unable to parse requirement: {term.strip()!r}")


def parse_label_selector(selector: str | None) -> Matcher:
    """A predicate over objects; raises `ApiError` (400) for a malformed selector."""
    if not selector:
        return lambda obj: True
    matchers = [_label_term(term) for term in _split_terms(selector)]
    return lambda obj: all(m(obj) for m in matchers)


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _field_matcher(path: str, value: str, *, negated: bool) -> Matcher:
    def matches(obj: Mapping[str, Any]) -> bool:
        return (_field_value(obj, path) == value) != negated

    return matches


def parse_field_selector(selector: str | None, supported: tuple[str, ...]) -> Matcher:
    """A predicate over objects; raises `ApiError` (400) for an unknown field."""
    if not selector:
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace", *supported}
    matchers: list[Matcher] = []
    for term in _split_terms(selector):
        match = re.match(r"^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise ApiError.bad_request(f"invalid field selector: {term.strip()!r}")
        path, op, value = match.groups()
        if path not in allowed:
            raise ApiError.bad_request(f'field label not supported: "{path}"')
        matchers.append(_field_matcher(path, value, negated=op == "!="))
    return lambda obj: all(m(obj) for m in matchers)
