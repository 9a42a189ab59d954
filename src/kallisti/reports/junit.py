"""The report as JUnit XML, for CI systems (Jenkins, GitLab, GitHub annotations).

One `<testsuite>` per trial, one `<testcase>` per step of the experiment it ran
(pre steps, steps, post steps, in order). A step that failed carries a
`<failure>` with its error and whole log; a step that did not run is
`<skipped>`. A trial that did not succeed but has no failed step (`Invalid`,
a lost worker, a stop before any step) gets one failed `trial result` test case,
so that a CI job never reads such a trial as green.
"""

from __future__ import annotations

import json

from kallisti.domain.models import TrialStatus
from kallisti.reports.model import (
    ExperimentReport,
    Report,
    StepRun,
    TrialReport,
    iso_time,
)
from kallisti.reports.xmltext import xml_attribute, xml_text

__all__ = ["MEDIA_TYPE", "render_junit"]

MEDIA_TYPE = "application/xml"


def _attributes(**values: object) -> str:
    return "".join(
        f' {key}="{xml_attribute(str(value))}"' for key, value in values.items()
    )


def _timestamp(trial: TrialReport) -> str:
    moment = trial.executed_at or trial.created_at
    # The JUnit schema's timestamp has no zone; it is UTC.
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def _testcase(out: list[str], experiment: ExperimentReport, step: StepRun) -> None:
    classname = f"{experiment.name}.{step.section}"
    out.append(
        "<testcase"
        + _attributes(
            classname=classname,
            name=f"{step.label}: {step.name}",
            time=f"{step.seconds:.3f}",
        )
        + ">"
    )
    log = "\n".join(step.logs)
    if step.outcome == "failed":
        out.append(
            "<failure"
            + _attributes(
                message=step.error or "step failed", type=step.error_type or "StepError"
            )
            + ">"
            + xml_text(log)
            + "</failure>"
        )
    elif step.outcome in ("skipped", "running"):
        reason = step.error if step.outcome == "skipped" else "still running"
        out.append("<skipped" + _attributes(message=reason or "did not run") + "/>")
    if log and step.outcome != "failed":
        out.append("<system-out>" + xml_text(log) + "</system-out>")
    out.append("</testcase>")


def _testsuite(
    out: list[str], experiment: ExperimentReport, trial: TrialReport
) -> dict[str, int]:
    steps = trial.steps
    failed_steps = sum(step.outcome == "failed" for step in steps)
    unexplained = (
        trial.status.is_terminal
        and trial.status is not TrialStatus.SUCCEEDED
        and not failed_steps
    )
    counts = {
        "tests": len(steps) + int(unexplained),
        "failures": failed_steps + int(unexplained),
        "errors": 0,
        "skipped": sum(step.outcome in ("skipped", "running") for step in steps),
    }
    out.append(
        "<testsuite"
        + _attributes(
            name=f"{experiment.name} [trial {trial.id}]",
            id=trial.id,
            package=experiment.name,
            timestamp=_timestamp(trial),
            hostname="kallisti",
            time=f"{trial.seconds:.3f}",
            **counts,
        )
        + ">"
    )
    properties = {
        "trial.id": trial.id,
        "trial.status": trial.status.value,
        "experiment.id": experiment.id,
        "experiment.name": experiment.name,
        "initiated_by": trial.initiated_by,
        "initiated_from": trial.initiated_from,
        "schedule_id": trial.schedule_id or "",
        "executed_at": iso_time(trial.executed_at) or "",
        "completed_at": iso_time(trial.completed_at) or "",
        "parameters": json.dumps(trial.parameters, sort_keys=True),
        "metadata": json.dumps(trial.metadata, sort_keys=True),
    }
    out.append("<properties>")
    for name, value in properties.items():
        out.append("<property" + _attributes(name=name, value=value) + "/>")
    out.append("</properties>")
    for step in steps:
        _testcase(out, experiment, step)
    result = "\n".join(trial.result)
    if unexplained:
        out.append(
            "<testcase"
            + _attributes(
                classname=f"{experiment.name}.trial", name="trial result", time="0"
            )
            + ">"
            + "<failure"
            + _attributes(
                message=f"Trial {trial.status.value}", type=trial.status.value
            )
            + ">"
            + xml_text(result)
            + "</failure></testcase>"
        )
    if result:
        out.append("<system-out>" + xml_text(result) + "</system-out>")
    out.append("</testsuite>")
    return counts


def render_junit(report: Report) -> str:
    """The JUnit XML document (a str; encode it as UTF-8)."""
    body: list[str] = []
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for experiment in report.experiments:
        for trial in experiment.trials:
            counts = _testsuite(body, experiment, trial)
            for key, value in counts.items():
                totals[key] += value
            seconds += trial.seconds
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + "<testsuites"
        + _attributes(name=report.title, time=f"{seconds:.3f}", **totals)
        + ">"
    )
    return head + "".join(body) + "</testsuites>\n"
