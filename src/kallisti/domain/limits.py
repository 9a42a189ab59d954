"""Bounds on what one trial may write down: a log line, a recorded value.

A hostile or careless step (a 20 MB body in a failed expectation) must not turn
into a 21-million-character log line, a 42 MB trial answer or a 63 MB report.
Text past a bound is cut and ends with a marker saying how much was left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LOG_LINE_LIMIT", "RECORDED_VALUE_LIMIT", "capped", "capped_values"]

# Characters kept of one log line (record line or server log line).
LOG_LINE_LIMIT = 16_384
# Characters kept of one string inside recorded step parameters.
RECORDED_VALUE_LIMIT = 4_096


def capped(text: str, limit: int = LOG_LINE_LIMIT) -> str:
    """Return `text` cut to `limit` characters, ending with
    ``… (N bytes more)`` (N counts the UTF-8 bytes left out) when it was cut."""
    if len(text) <= limit:
        return text
    rest = len(text[limit:].encode("utf-8", "surrogatepass"))
    return f"{text[:limit]}… ({rest} bytes more)"


def capped_values(value: Any, limit: int = RECORDED_VALUE_LIMIT) -> Any:
    """Return a copy of JSON-like `value` with every long string `capped`."""
    if isinstance(value, str):
        return capped(value, limit)
    if isinstance(value, Mapping):
        return {key: capped_values(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        items = [capped_values(item, limit) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value
