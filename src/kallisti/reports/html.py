"""The report as one self-contained HTML page, with a timeline of each trial.

No scripts, no external files: styles are inline, so the page can be mailed or
archived as it is. Every value is escaped by the template engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, select_autoescape

from kallisti.reports.model import Report, StepRun, TrialReport, iso_time
from kallisti.reports.xmltext import visible_controls

__all__ = ["MEDIA_TYPE", "render_html"]

MEDIA_TYPE = "text/html"

# A bar is never thinner than this (% of the timeline), so instant steps show.
_MIN_BAR_PERCENT = 0.8


@dataclass(frozen=True)
class _Bar:
    step: StepRun
    left: float
    width: float


@dataclass(frozen=True)
class _Timeline:
    start: datetime | None
    end: datetime | None
    bars: list[_Bar]


def _timeline(trial: TrialReport, now: datetime) -> _Timeline:
    starts = [s.started_at for s in trial.steps if s.started_at is not None]
    ends = [s.ended_at for s in trial.steps if s.ended_at is not None]
    start = trial.executed_at or (min(starts) if starts else None)
    end = trial.completed_at or (max(ends) if ends else None) or now
    if start is None:
        return _Timeline(None, None, [_Bar(step, 0.0, 0.0) for step in trial.steps])
    span = max((end - start).total_seconds(), 0.001)
    bars = []
    for step in trial.steps:
        if step.started_at is None:
            bars.append(_Bar(step, 0.0, 0.0))
            continue
        left = min(
            max((step.started_at - start).total_seconds() / span * 100, 0.0), 100.0
        )
        width = max(step.seconds / span * 100, _MIN_BAR_PERCENT)
        bars.append(_Bar(step, left, min(width, 100.0 - left) or _MIN_BAR_PERCENT))
    return _Timeline(start, end, bars)


def _when(value: datetime | None) -> str:
    text = iso_time(value)
    return (
        "—"
        if text is None
        else text.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"
    )


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return visible_controls(text)


def _template_source() -> str:
    return (
        resources.files("kallisti.reports").joinpath("report.html").read_text("utf-8")
    )


def render_html(report: Report) -> str:
    """The HTML page (a str; encode it as UTF-8)."""
    environment = Environment(autoescape=select_autoescape(default=True))
    environment.filters["clean"] = lambda text: visible_controls(str(text))
    template = environment.from_string(_template_source())
    trials = [trial for experiment in report.experiments for trial in experiment.trials]
    return template.render(
        report=report,
        trial_count=len(trials),
        succeeded=sum(trial.status.value == "Succeeded" for trial in trials),
        when=_when,
        value=_value,
        timeline=lambda trial: _timeline(trial, report.generated_at),
    )
