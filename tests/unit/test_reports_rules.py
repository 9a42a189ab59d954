"""Report helpers with no I/O: XML-safe text and names, log lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from kallisti.reports.model import parse_log_line
from kallisti.reports.xmltext import xml_attribute, xml_name, xml_text


def test_xml_text_escapes_markup_and_shows_control_characters() -> None:
    text = "a<b>&c\x00\x07\x1b\ufffe ok\t\n"
    escaped = xml_text(text)
    assert escaped == "a&lt;b&gt;&amp;c\\x00\\x07\\x1b\\ufffe ok\t\n"
    assert (
        ET.fromstring(f"<x>{escaped}</x>").text == "a<b>&c\\x00\\x07\\x1b\\ufffe ok\t\n"
    )


def test_xml_attribute_keeps_quotes_and_newlines() -> None:
    value = 'say "hi"\nthen <go>'
    parsed = ET.fromstring(f'<x a="{xml_attribute(value)}"/>')
    assert parsed.get("a") == value


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("status", "status"),
        ("step_name", "step_name"),
        ("list-item", "list-item"),
        ("my key", None),
        ("1st", None),
        ("a:b", None),
        ("xmlish", None),
        ("", None),
        ("<script>", None),
    ],
)
def test_only_plain_keys_become_element_names(key: str, name: str | None) -> None:
    assert xml_name(key) == name


def test_log_lines_are_split_into_time_level_and_message() -> None:
    line = parse_log_line("[2026-01-31T12:00:00.123Z - ERROR] Step failed. Type: X.")
    kallisti = parse_log_line("[2019-06-17T04:34:15Z - INFO] Completed.")
    other = parse_log_line("free text")

    assert line.time == datetime(2026, 1, 31, 12, 0, 0, 123000, tzinfo=UTC)
    assert (line.level, line.message) == ("ERROR", "Step failed. Type: X.")
    assert kallisti.time == datetime(2019, 6, 17, 4, 34, 15, tzinfo=UTC)
    assert (other.time, other.level, other.message) == (None, "INFO", "free text")
