"""Helpers for the k8s tests: a recorder, the finished trial, step dicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kallisti.domain.models import TrialStatus
from kallisti.domain.record import TrialRecord

__all__ = ["MemoryRecorder", "RunTrial", "Trial", "step"]


class MemoryRecorder:
    """The engine's recorder, keeping the record in memory."""

    def __init__(self) -> None:
        self.changes = 0
        self.status: TrialStatus | None = None
        self.record: dict[str, Any] = {}

    def changed(self, record: TrialRecord) -> None:
        self.changes += 1

    async def close(self, status: TrialStatus, record: TrialRecord) -> None:
        self.status = status
        self.record = record.to_json()


@dataclass
class Trial:
    """A finished trial: its status and record, with helpers to read the logs."""

    status: TrialStatus
    record: dict[str, Any]

    def logs(self, index: int = 0, section: str = "steps") -> list[str]:
        return list(self.record[section][index]["logs"])

    def log_text(self, index: int = 0, section: str = "steps") -> str:
        return "\n".join(self.logs(index, section))

    def error(self, index: int = 0, section: str = "steps") -> str:
        """The step's failure line (without its timestamp)."""
        line = self.logs(index, section)[-1]
        assert " - ERROR] " in line, f"step {index} did not fail: {line}"
        return line.split("] ", 1)[1]


RunTrial = Callable[..., Awaitable[Trial]]


def step(do: str, where: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A step dict for `run_trial`."""
    return {"step": do, "do": do, "where": dict(where), **extra}
