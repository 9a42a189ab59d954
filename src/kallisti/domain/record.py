"""The trial record: what each step did, line by line, as it happened.

Its JSON shape is Kallisti's::

    {"pre_steps": [...], "steps": [...], "post_steps": [...],
     "result": [{"logs": [...]}]}

where each step entry is ``{"step_name", "step_parameters", "logs": [...]}``,
`result` holds the closing lines as one log entry (Kallisti's `TrialLogRecord`),
and a log line reads ``[2026-01-31T12:00:00.123Z - INFO] <message>``. Empty
sections are left out. Every line passes through the trial's `SecretRedactor`
before it is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any, Literal

from kallisti.domain.limits import capped, capped_values
from kallisti.domain.secrets import SecretRedactor

__all__ = [
    "GUARDS",
    "SECTIONS",
    "Clock",
    "Section",
    "StepLog",
    "TrialRecord",
    "result_lines",
    "utc_now",
]

Section = Literal["pre_steps", "steps", "post_steps"]
SECTIONS: tuple[Section, ...] = ("pre_steps", "steps", "post_steps")
# Guard runs (safety): kept beside the step sections, in the same entry shape.
GUARDS: Literal["guards"] = "guards"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


def result_lines(record: Mapping[str, Any]) -> list[str]:
    """The closing lines of a stored record: its `result` entries' logs (records
    written before `result` took Kallisti's shape hold the lines themselves)."""
    lines: list[str] = []
    for entry in record.get("result") or []:
        if isinstance(entry, Mapping):
            lines.extend(str(line) for line in entry.get("logs") or [])
        else:
            lines.append(str(entry))
    return lines


def _line(clock: Clock, level: str, message: str) -> str:
    stamp = (
        clock().astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
    )
    return f"[{stamp}Z - {level}] {message}"


class StepLog:
    """The log of one step inside a trial record."""

    def __init__(self, entry: dict[str, Any], record: TrialRecord) -> None:
        self._entry = entry
        self._record = record
        self._closed = False

    def info(self, message: str) -> None:
        if not self._closed:
            self._record.append_line(self._entry["logs"], "INFO", message)

    def error(self, message: str) -> None:
        if not self._closed:
            self._record.append_line(self._entry["logs"], "ERROR", message)

    def close(self) -> None:
        """The step has ended: later lines (from an abandoned action) are dropped."""
        self._closed = True

    def discard(self) -> None:
        """Take the entry out of the record (a guard run kept only while last)."""
        self._closed = True
        self._record.remove_entry(self._entry)


class TrialRecord:
    """A trial record being written; `to_json()` gives the stored form."""

    def __init__(
        self,
        existing: Mapping[str, Any] | None = None,
        *,
        redactor: SecretRedactor | None = None,
        clock: Clock = utc_now,
    ) -> None:
        existing = existing or {}
        self._sections: dict[str, list[dict[str, Any]]] = {
            section: deepcopy(list(existing.get(section, [])))
            for section in (*SECTIONS, GUARDS)
        }
        self._result: list[str] = result_lines(existing)
        self.redactor = redactor or SecretRedactor()
        self._clock = clock
        self._on_change: Callable[[], None] = lambda: None

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every change (the worker persists the record)."""
        self._on_change = callback

    def start_step(
        self,
        section: Section | Literal["guards"],
        name: str,
        parameters: Mapping[str, Any],
        *,
        title: str = "",
    ) -> StepLog:
        """Add a step entry to `section` and return its log. `name` is
        Kallisti's `step_name` (from the action); the author's `title` is kept
        beside it as `step` when there is one."""
        entry: dict[str, Any] = {
            "step_name": self.redactor.redact_text(name),
            "step_parameters": capped_values(self.redactor.redact(dict(parameters))),
            "logs": [],
        }
        if title:
            entry["step"] = self.redactor.redact_text(title)
        self._sections[section].append(entry)
        self._on_change()
        return StepLog(entry, self)

    def remove_entry(self, entry: dict[str, Any]) -> None:
        for entries in self._sections.values():
            if any(e is entry for e in entries):
                entries[:] = [e for e in entries if e is not entry]
                self._on_change()
                return

    def append_line(self, lines: list[str], level: str, message: str) -> None:
        # Masked before it is cut: a secret cut in half would escape the mask.
        message = capped(self.redactor.redact_text(message))
        lines.append(_line(self._clock, level, message))
        self._on_change()

    def result(self, message: str, level: str = "INFO") -> None:
        """Add a closing line to the record's `result`."""
        self.append_line(self._result, level, message)

    def steps_in(self, section: Section) -> int:
        return len(self._sections[section])

    def to_json(self) -> dict[str, Any]:
        """The stored form: a deep copy, with empty sections left out."""
        data: dict[str, Any] = {
            section: deepcopy(entries)
            for section, entries in self._sections.items()
            if entries
        }
        if self._result:
            data["result"] = [{"logs": list(self._result)}]
        # Lines are masked as they are written; this catches a secret learnt in
        # a later step that an earlier line already held.
        redacted: dict[str, Any] = self.redactor.redact(data)
        return redacted
