"""Runs trial plans through the real engine, in process, into memory.

The recorder keeps a snapshot of the record at every change, so a test can
check that the record is written step by step and complete before the close.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.models import Step, TrialStatus
from kallisti.domain.record import TrialRecord, result_lines
from kallisti.engine import StopSignal, TrialEngine, TrialPlan
from kallisti.modules import ModuleRegistry

__all__ = ["MemoryRecorder", "make_engine", "make_plan", "run_trial", "steps"]


class MemoryRecorder:
    """A `TrialRecorder` that keeps every version of the record in memory."""

    def __init__(self) -> None:
        self.snapshots: list[dict[str, Any]] = []
        self.status: TrialStatus | None = None
        self.record: dict[str, Any] = {}
        self.closes = 0

    def changed(self, record: TrialRecord) -> None:
        self.snapshots.append(record.to_json())

    async def close(self, status: TrialStatus, record: TrialRecord) -> None:
        self.closes += 1
        self.status = status
        self.record = record.to_json()

    def lines(self, section: str, index: int = 0) -> list[str]:
        """The log lines of one step of the closed record."""
        return list(self.record[section][index]["logs"])

    def messages(self, section: str, index: int = 0) -> list[str]:
        """The log lines of one step without their `[time - LEVEL] ` prefix."""
        return [line.split("] ", 1)[1] for line in self.lines(section, index)]

    @property
    def result(self) -> list[str]:
        return [line.split("] ", 1)[1] for line in result_lines(self.record)]


def steps(*raw: Mapping[str, Any]) -> tuple[Step, ...]:
    return tuple(Step.model_validate(dict(step)) for step in raw)


def make_plan(
    *,
    pre_steps: Sequence[Mapping[str, Any]] = (),
    steps_: Sequence[Mapping[str, Any]] = (),
    post_steps: Sequence[Mapping[str, Any]] = (),
    parameters: Mapping[str, Any] | None = None,
) -> TrialPlan:
    return TrialPlan(
        trial_id=uuid.uuid4(),
        experiment_name="engine test",
        pre_steps=steps(*pre_steps),
        steps=steps(*steps_),
        post_steps=steps(*post_steps),
        parameters=dict(parameters or {}),
    )


def make_engine(
    *,
    module_overrides: Mapping[str, str] | None = None,
    credential_context: CredentialContext | None = None,
    step_timeout_seconds: float = 30.0,
) -> TrialEngine:
    """The engine as the service builds it, reading the live environment."""
    context = credential_context or CredentialContext(environ=os.environ)
    return TrialEngine(
        ModuleRegistry.discover(module_overrides),
        CredentialRegistry.discover(context),
        step_timeout_seconds=step_timeout_seconds,
    )


async def run_trial(
    plan: TrialPlan,
    *,
    engine: TrialEngine | None = None,
    stop: StopSignal | None = None,
) -> MemoryRecorder:
    recorder = MemoryRecorder()
    status = await (engine or make_engine()).run(plan, recorder, stop or StopSignal())
    assert status == recorder.status
    assert recorder.closes == 1
    return recorder
