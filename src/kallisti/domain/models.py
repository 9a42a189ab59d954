"""Experiments, steps and trials: the plain models, shared by the API as schemas."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from kallisti.domain.errors import InvalidInput
from kallisti.domain.expectations import parse_expectations
from kallisti.domain.templating import template_errors

__all__ = [
    "TERMINAL_STATUSES",
    "ExperimentCreate",
    "ExperimentPublic",
    "ExperimentUpdate",
    "Step",
    "TrialCreate",
    "TrialPublic",
    "TrialStatus",
]

_DO_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
MAX_STEPS = 500
MAX_STEP_TIMEOUT_SECONDS = 7 * 24 * 3600

MAX_JSON_DEPTH = 32


def _json_depth(value: Any, depth: int = 0) -> int:
    if depth > MAX_JSON_DEPTH:
        return depth
    if isinstance(value, dict):
        return max((_json_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_json_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def _limit_depth(value: dict[str, Any]) -> dict[str, Any]:
    if _json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_limit_depth)]


class TrialStatus(StrEnum):
    """The life of a trial: Scheduled → In Progress → one terminal status."""

    SCHEDULED = "Scheduled"
    IN_PROGRESS = "In Progress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ABORTED = "Aborted"
    INVALID = "Invalid"
    STOP_INITIATED = "Stop Initiated"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        TrialStatus.SUCCEEDED,
        TrialStatus.FAILED,
        TrialStatus.ABORTED,
        TrialStatus.INVALID,
        TrialStatus.STOPPED,
    }
)


class Step(BaseModel):
    """One action of an experiment: what to `do`, `where`, and what to `expect`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str = Field(default="", max_length=255, description="A free title.")
    do: str = Field(
        max_length=255,
        description="`<namespace>.<action>`, e.g. `cm.http_probe` or "
        "`aws.ec2.stop_instance`.",
    )
    where: JsonObject = Field(description="The action's keyword arguments.")
    expect: list[JsonObject] = Field(
        default_factory=list,
        description="Checks on the action's result; all must hold.",
    )
    timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        le=MAX_STEP_TIMEOUT_SECONDS,
        description="Time-out for this step (default: the service's step time-out).",
    )

    @field_validator("do")
    @classmethod
    def _check_do(cls, value: str) -> str:
        if not _DO_PATTERN.match(value):
            raise ValueError(
                "must be `<namespace>.<action>` with letters, digits and `_`, "
                "e.g. `cm.http_probe`"
            )
        return value

    @field_validator("expect")
    @classmethod
    def _check_expect(cls, value: list[JsonObject]) -> list[JsonObject]:
        try:
            parse_expectations(value)
        except InvalidInput as err:
            raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _check_templates(self) -> Step:
        errors = template_errors(self.where, "where")
        if errors:
            raise ValueError("; ".join(str(err) for err in errors))
        return self

    @property
    def namespace(self) -> str:
        return self.do.split(".", 1)[0]

    @property
    def title(self) -> str:
        return self.step or self.do


StepList = Annotated[list[Step], Field(max_length=MAX_STEPS)]


class _ExperimentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=10_000)
    metadata: JsonObject = Field(default_factory=dict)
    parameters: JsonObject = Field(default_factory=dict)
    pre_steps: StepList = Field(default_factory=list)
    post_steps: StepList = Field(default_factory=list)


class ExperimentCreate(_ExperimentFields):
    """Body of POST (and PUT) /experiment."""

    name: Name
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]


class ExperimentUpdate(BaseModel):
    """Body of PATCH /experiment/{id}: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=10_000)
    metadata: JsonObject | None = None
    parameters: JsonObject | None = None
    pre_steps: StepList | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)] | None = None
    post_steps: StepList | None = None

    @model_validator(mode="after")
    def _no_nulls_for_required(self) -> ExperimentUpdate:
        for field in ("name", "steps", "metadata", "parameters", "pre_steps", "post_steps"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class ExperimentPublic(ExperimentCreate):
    """An experiment as the API returns it."""

    model_config = ConfigDict(extra="ignore")

    id: UUID
    created_by: str
    created_at: datetime
    updated_at: datetime


class TrialCreate(BaseModel):
    """Body of POST /trial: run an experiment now."""

    model_config = ConfigDict(extra="forbid")

    experiment: UUID
    parameters: JsonObject = Field(
        default_factory=dict, description="Override the experiment's parameters."
    )
    metadata: JsonObject = Field(
        default_factory=dict, description="Laid over the experiment's metadata."
    )
    ticket: JsonObject = Field(
        default_factory=dict, description="A link to an external change system."
    )
    dry_run: bool = Field(
        default=False,
        description="Resolve targets and log what each step would do; change nothing.",
    )


class TrialPublic(BaseModel):
    """A trial as the API returns it."""

    id: UUID
    experiment: UUID
    parameters: JsonObject
    metadata: JsonObject
    ticket: JsonObject
    status: TrialStatus
    trial_record: JsonObject
    initiated_by: str
    initiated_from: str
    dry_run: bool = False
    schedule_id: UUID | None = None
    created_at: datetime
    executed_at: datetime | None
    completed_at: datetime | None
