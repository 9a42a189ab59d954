"""Making any text safe for XML 1.0: escaped, and without the characters XML
cannot hold (most control characters), which are written as visible escapes."""

from __future__ import annotations

import re

__all__ = ["visible_controls", "xml_attribute", "xml_name", "xml_text"]

# Characters XML 1.0 does not allow at all, even escaped.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_controls(value: str) -> str:
    """`value` with the characters XML cannot hold written as `\\xNN` escapes."""
    return _INVALID.sub(_visible, value)


def xml_text(value: str) -> str:
    """`value` as XML character data."""
    value = visible_controls(value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attribute(value: str) -> str:
    """`value` for a double-quoted XML attribute."""
    return (
        xml_text(value)
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def xml_name(key: str) -> str | None:
    """`key` when it is usable as an element name as it stands, else None."""
    if _NAME.match(key) and not key.lower().startswith("xml"):
        return key
    return None
