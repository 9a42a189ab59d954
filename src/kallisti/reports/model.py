"""What a report shows, built once from the store and rendered in any format.

Secrets never reach a report: trial records were masked when written, and every
object printed here (experiment steps' `where`, parameters, metadata, tickets,
recorded step parameters) passes through `mask_secret_fields` again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine

from kallisti.domain.models import TERMINAL_STATUSES, TrialStatus
from kallisti.domain.record import SECTIONS, result_lines
from kallisti.domain.secret_parameters import mask_parameters, secret_parameter_names
from kallisti.domain.secrets import mask_secret_fields
from kallisti.store.reports import ReportFilter, ReportRows, fetch_report_rows

__all__ = [
    "ExperimentReport",
    "LogLine",
    "Outcome",
    "Report",
    "StepRun",
    "TrialReport",
    "build_report",
    "iso_time",
    "parse_log_line",
]

Outcome = Literal["passed", "failed", "skipped", "running"]

SECTION_LABELS = {"pre_steps": "Pre step", "steps": "Step", "post_steps": "Post step"}

_LOG_LINE = re.compile(
    r"^\[(?P<time>[^\]]*?) - (?P<level>[A-Z]+)\] (?P<message>.*)$", re.S
)
_ERROR_TYPE = re.compile(r"Type: (?P<type>[A-Za-z_][\w.]*)")


def iso_time(value: datetime | None) -> str | None:
    """`2026-01-31T12:00:00.123456Z`, as Kallisti's API writes times; None stays."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class LogLine:
    """One line of a step log, split into its parts (`time` None if unparsable)."""

    time: datetime | None
    level: str
    message: str


def parse_log_line(line: str) -> LogLine:
    """Split `[<UTC ISO time> - LEVEL] message`; other text is an INFO message."""
    match = _LOG_LINE.match(line)
    if match is None:
        return LogLine(None, "INFO", line)
    try:
        when: datetime | None = datetime.fromisoformat(match["time"])
    except ValueError:
        when = None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return LogLine(when, match["level"], match["message"])


@dataclass(frozen=True)
class StepRun:
    """One step of a trial: run (with its log) or not run (`skipped`)."""

    section: str
    index: int
    name: str
    do: str | None
    parameters: dict[str, Any]
    logs: list[str]
    outcome: Outcome
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    error_type: str | None = None

    @property
    def label(self) -> str:
        return f"{SECTION_LABELS.get(self.section, self.section)} {self.index}"

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class TrialReport:
    """A trial as reports show it (masked)."""

    id: str
    status: TrialStatus
    parameters: dict[str, Any]
    metadata: dict[str, Any]
    ticket: dict[str, Any]
    initiated_by: str
    initiated_from: str
    schedule_id: str | None
    dry_run: bool
    created_at: datetime
    executed_at: datetime | None
    completed_at: datetime | None
    record: dict[str, Any]
    steps: list[StepRun]
    stored_record: dict[str, Any] = field(default_factory=dict)
    """The record as stored (masked): Kallisti's report shows it unchanged."""

    @property
    def result(self) -> list[str]:
        return list(self.record.get("result", []))

    @property
    def seconds(self) -> float:
        if self.executed_at is None or self.completed_at is None:
            return sum(step.seconds for step in self.steps)
        return max(0.0, (self.completed_at - self.executed_at).total_seconds())

    def kallisti_json(self) -> dict[str, Any]:
        """The trial in the shape of Kallisti's report serializer, whose
        `trial_record` is the stored record and `records` its Python text."""
        record = dict(self.stored_record)
        if "result" in record:
            record["result"] = [{"logs": self.result}]
        return {
            "id": self.id,
            "parameters": self.parameters,
            "metadata": self.metadata,
            "ticket": self.ticket,
            "status": self.status.value,
            "trial_record": record,
            "executed_at": iso_time(self.executed_at),
            "completed_at": iso_time(self.completed_at),
            "initiated_by": self.initiated_by,
            "initiated_from": self.initiated_from,
            "records": str(record),
        }


@dataclass(frozen=True)
class ExperimentReport:
    """An experiment (masked) and the trials the report covers, oldest first."""

    id: str
    name: str
    description: str
    metadata: dict[str, Any]
    parameters: dict[str, Any]
    pre_steps: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    post_steps: list[dict[str, Any]]
    trials: list[TrialReport] = field(default_factory=list)

    def kallisti_json(self) -> dict[str, Any]:
        """The experiment in the shape of Kallisti's report serializer."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "metadata": self.metadata,
            "parameters": self.parameters,
            "pre_steps": self.pre_steps,
            "steps": self.steps,
            "post_steps": self.post_steps,
            "trials": [trial.kallisti_json() for trial in self.trials],
        }


@dataclass(frozen=True)
class Report:
    title: str
    experiments: list[ExperimentReport]
    generated_at: datetime
    filter: ReportFilter = field(default_factory=ReportFilter)


def build_report(
    engine: Engine, where: ReportFilter, *, title: str, now: datetime
) -> Report:
    """Read and shape a report. Raises `NotFound` as `fetch_report_rows` does."""
    rows = fetch_report_rows(engine, where)
    return Report(
        title=title,
        experiments=[_experiment(entry) for entry in rows],
        generated_at=now,
        filter=where,
    )


def _masked_steps(steps: Any) -> list[dict[str, Any]]:
    return [mask_secret_fields(step) for step in (steps or [])]


def _experiment(entry: ReportRows) -> ExperimentReport:
    row = entry.experiment
    return ExperimentReport(
        id=str(row["id"]),
        name=str(row["name"]),
        description=row["description"] or "",
        metadata=mask_secret_fields(row["metadata"] or {}),
        parameters=mask_parameters(
            row["parameters"] or {},
            secret_parameter_names(
                row["parameters"] or {},
                [
                    step.get("where")
                    for section in SECTIONS
                    for step in row[section] or []
                    if isinstance(step, dict)
                ],
            ),
        ),
        pre_steps=_masked_steps(row["pre_steps"]),
        steps=_masked_steps(row["steps"]),
        post_steps=_masked_steps(row["post_steps"]),
        trials=[_trial(trial) for trial in entry.trials],
    )


def _trial(row: dict[str, Any]) -> TrialReport:
    status = TrialStatus(row["status"])
    raw_record = row["trial_record"] or {}
    record: dict[str, Any] = {
        section: [_entry(entry) for entry in raw_record.get(section, [])]
        for section in SECTIONS
    }
    record["result"] = result_lines(raw_record)
    snapshot = row["experiment_snapshot"] or {}
    return TrialReport(
        id=str(row["id"]),
        status=status,
        parameters=mask_parameters(
            row["parameters"] or {},
            secret_parameter_names(
                {**(snapshot.get("parameters") or {}), **(row["parameters"] or {})},
                [
                    step.get("where")
                    for section in SECTIONS
                    for step in snapshot.get(section) or []
                    if isinstance(step, dict)
                ],
            ),
        ),
        metadata=mask_secret_fields(row["metadata"] or {}),
        ticket=mask_secret_fields(row["ticket"] or {}),
        initiated_by=row["initiated_by"],
        initiated_from=row["initiated_from"],
        schedule_id=row["schedule_id"],
        dry_run=bool(row["dry_run"]),
        created_at=row["created_at"],
        executed_at=row["executed_at"],
        completed_at=row["completed_at"],
        record=record,
        steps=_step_runs(record, snapshot, status),
        stored_record=mask_secret_fields(raw_record),
    )


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {
        "step_name": entry.get("step_name", ""),
        "step_parameters": mask_secret_fields(entry.get("step_parameters", {})),
        "logs": list(entry.get("logs", [])),
    }
    if entry.get("step"):
        kept["step"] = entry["step"]
    return kept


def _step_runs(
    record: dict[str, Any], snapshot: dict[str, Any], status: TrialStatus
) -> list[StepRun]:
    finished = status in TERMINAL_STATUSES
    runs: list[StepRun] = []
    for section in SECTIONS:
        planned: list[dict[str, Any]] = snapshot.get(section) or []
        executed: list[dict[str, Any]] = record.get(section, [])
        for number, entry in enumerate(executed, start=1):
            plan = planned[number - 1] if number <= len(planned) else {}
            is_last = _section_is_last(record, section, number)
            runs.append(_run(section, number, entry, plan, finished or not is_last))
        for number in range(len(executed) + 1, len(planned) + 1):
            plan = mask_secret_fields(planned[number - 1])
            runs.append(
                StepRun(
                    section=section,
                    index=number,
                    name=plan.get("step") or _name_from_do(plan.get("do", "")),
                    do=plan.get("do"),
                    parameters=plan.get("where", {}),
                    logs=[],
                    outcome="skipped",
                    error="did not run" if finished else "not run yet",
                )
            )
    return runs


def _section_is_last(record: dict[str, Any], section: str, number: int) -> bool:
    """Whether entry `number` of `section` is the last step recorded so far."""
    later = SECTIONS[SECTIONS.index(section) + 1 :] if section in SECTIONS else ()
    return number == len(record.get(section, [])) and not any(
        record.get(other) for other in later
    )


def _name_from_do(do: str) -> str:
    action = do.split(".", 1)[-1]
    return action.replace("_", " ").capitalize()


def _run(
    section: str,
    number: int,
    entry: dict[str, Any],
    plan: dict[str, Any],
    done: bool,
) -> StepRun:
    lines = [parse_log_line(line) for line in entry["logs"]]
    times = [line.time for line in lines if line.time is not None]
    errors = [line for line in lines if line.level in ("ERROR", "CRITICAL")]
    outcome: Outcome
    if errors:
        outcome = "failed"
    elif done or (lines and lines[-1].message.startswith("Completed")):
        outcome = "passed"
    else:
        outcome = "running"
    error_type = None
    if errors:
        found = _ERROR_TYPE.search(errors[-1].message)
        error_type = found["type"] if found else "StepError"
    # The record names the step that ran (the author's title, else Kallisti's
    # `step_name`), so every format agrees with what the trial recorded.
    title = (
        entry.get("step") or entry.get("step_name") or _name_from_do(plan.get("do", ""))
    )
    return StepRun(
        section=section,
        index=number,
        name=str(title),
        do=plan.get("do"),
        parameters=entry.get("step_parameters", {}),
        logs=list(entry["logs"]),
        outcome=outcome,
        started_at=min(times) if times else None,
        ended_at=max(times) if times else None,
        error=errors[-1].message if errors else None,
        error_type=error_type,
    )
