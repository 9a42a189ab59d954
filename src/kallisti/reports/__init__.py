"""Reports of experiments and their trials: Kallisti's XML (with its embedded XSL
stylesheet), JUnit XML for CI systems, and a self-contained HTML page."""

from __future__ import annotations

from enum import StrEnum

from kallisti.reports import html, junit, kallisti_xml
from kallisti.reports.model import (
    ExperimentReport,
    Report,
    StepRun,
    TrialReport,
    build_report,
)
from kallisti.store.reports import ReportFilter

__all__ = [
    "ExperimentReport",
    "Report",
    "ReportFilter",
    "ReportFormat",
    "StepRun",
    "TrialReport",
    "build_report",
    "render_report",
]


class ReportFormat(StrEnum):
    """The formats a report comes in."""

    XML = "xml"
    JUNIT = "junit"
    HTML = "html"


def render_report(report: Report, format: ReportFormat) -> tuple[str, str]:
    """Render `report`; return the document and its media type."""
    if format is ReportFormat.JUNIT:
        return junit.render_junit(report), junit.MEDIA_TYPE
    if format is ReportFormat.HTML:
        return html.render_html(report), html.MEDIA_TYPE
    return kallisti_xml.render_kallisti_xml(report), kallisti_xml.MEDIA_TYPE
