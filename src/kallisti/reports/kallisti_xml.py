"""Kallisti's XML report: experiments with their trials, and an embedded XSL
stylesheet so that a browser shows it as a readable page.

The document is Kallisti's: an XML declaration, a stylesheet processing
instruction pointing at `#reportstyle`, a DOCTYPE declaring that id, then
`<report>` holding the stylesheet, `<report-title>` and `<root>`. Inside `<root>`
dict keys become elements, list items become `<list-item>` and null becomes an
empty element. A key that cannot be an element name (`"my key"`, `"1st"`) becomes
`<entry key="my key">`; the stylesheet shows both alike.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from kallisti.reports.model import Report
from kallisti.reports.xmltext import xml_attribute, xml_name, xml_text

__all__ = ["MEDIA_TYPE", "render_kallisti_xml", "stylesheet"]

MEDIA_TYPE = "application/xml"

_HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<?xml-stylesheet type="text/xsl" href="#reportstyle"?>'
    "<!DOCTYPE report [<!ATTLIST xsl:stylesheet id    ID  #REQUIRED>]>"
)
_ITEM = "list-item"


def stylesheet() -> str:
    """The XSL stylesheet shipped with the package (`reports/report.xsl`)."""
    text = resources.files("kallisti.reports").joinpath("report.xsl").read_text("utf-8")
    # The stylesheet sits inside <report>: drop its own XML declaration.
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :]
    return text.strip()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write(out: list[str], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            name = xml_name(str(key))
            if name is None:
                out.append(f'<entry key="{xml_attribute(str(key))}">')
                _write(out, item)
                out.append("</entry>")
            else:
                out.append(f"<{name}>")
                _write(out, item)
                out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        for item in value:
            out.append(f"<{_ITEM}>")
            _write(out, item)
            out.append(f"</{_ITEM}>")
    else:
        out.append(xml_text(_scalar(value)))


def render_kallisti_xml(report: Report) -> str:
    """The whole XML document (a str; encode it as UTF-8)."""
    out: list[str] = [
        _HEADER,
        "<report>\n",
        stylesheet(),
        "\n<report-title>",
        xml_text(report.title),
        "</report-title><root>",
    ]
    _write(out, [experiment.kallisti_json() for experiment in report.experiments])
    out.append("</root></report>\n")
    return "".join(out)
