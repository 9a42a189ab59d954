"""Experiments, steps and trials: the plain models, shared by the API as schemas."""

from __future__ import annotations

import math
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
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_serializer,
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
    "Guard",
    "JsonObject",
    "Step",
    "TrialCreate",
    "TrialPublic",
    "TrialStatus",
    "check_stored_text",
    "stored_experiment",
]

_AS_STORED = "as_stored"
_DO_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
MAX_STEPS = 500
MAX_STEP_TIMEOUT_SECONDS = 7 * 24 * 3600

MAX_JSON_DEPTH = 32


def _text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None.

    PostgreSQL refuses NUL characters and lone surrogates (SQLite takes them), so
    both are refused here: the same 400 on both databases instead of a 500.
    """
    if "\x00" in text:
        return "must not contain NUL (\\u0000) characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (found a lone surrogate such as \\ud800)"
    return None


def _check_text(text: str) -> str:
    problem = _text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


# The store's JSON codec (orjson) writes integers of at most 64 bits.
_MIN_INTEGER, _MAX_INTEGER = -(2**63), 2**64 - 1


def _json_problem(value: Any, path: str, depth: int) -> str | None:
    """Why a JSON value cannot be stored, or None: too deep, a bad string (see
    `_text_problem`), NaN/Infinity (JSON lacks them, PostgreSQL refuses them) or
    an integer wider than 64 bits."""
    at = f"{path}: " if path else ""
    if isinstance(value, str):
        problem = _text_problem(value)
        return None if problem is None else at + problem
    if isinstance(value, float) and not math.isfinite(value):
        return f"{at}{value} is not a JSON number; use a finite number"
    if isinstance(value, int) and not _MIN_INTEGER <= value <= _MAX_INTEGER:
        return f"{at}integers must fit in 64 bits (-2**63 to 2**64-1)"
    if isinstance(value, dict | list) and depth >= MAX_JSON_DEPTH:
        return f"nested deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            key_problem = _text_problem(str(key))
            if key_problem is not None:
                return f"{at}key {key!r} {key_problem}"
            problem = _json_problem(
                item, f"{path}.{key}" if path else str(key), depth + 1
            )
            if problem is not None:
                return problem
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _json_problem(
                item, f"{path}.{index}" if path else str(index), depth + 1
            )
            if problem is not None:
                return problem
    return None


def _check_json(value: dict[str, Any]) -> dict[str, Any]:
    problem = _json_problem(value, "", 0)
    if problem is not None:
        raise ValueError(problem)
    return value


check_stored_text = _check_text
"""Pass text either database can store and compare (no NUL, no lone
surrogate), else raise `ValueError`: for any string that reaches a query, a
filter as much as a value written."""

Title = Annotated[str, StringConstraints(max_length=255), AfterValidator(_check_text)]
Description = Annotated[
    str, StringConstraints(max_length=10_000), AfterValidator(_check_text)
]


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_check_text),
]
JsonObject = Annotated[dict[str, Any], AfterValidator(_check_json)]


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

    step: Title = Field(default="", description="A free title.")
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
        allow_inf_nan=False,
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

    @field_validator("where")
    @classmethod
    def _check_templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        errors = template_errors(value, "where")
        if errors:
            raise ValueError("; ".join(str(err) for err in errors))
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _as_stored(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        # What is already stored (a Kallisti import, rules tightened since) is
        # read as it is: refusing it would make the experiment unreadable. A
        # trial of it fails when the engine resolves the step.
        try:
            return handler(data)
        except ValidationError:
            if not (info.context or {}).get(_AS_STORED) or not isinstance(data, dict):
                raise
            return cls.model_construct(**data)

    @model_serializer(mode="wrap")
    def _as_submitted(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A step is returned (and stored) as submitted, without default keys the
        # author left out. Like Kallisti, an empty `step` title or `expect` list
        # is left out too.
        data: dict[str, Any] = handler(self)
        return {
            key: value for key, value in data.items() if value not in ("", [], None)
        }

    @property
    def namespace(self) -> str:
        return self.do.split(".", 1)[0]

    @property
    def title(self) -> str:
        return self.step or self.do


StepList = Annotated[list[Step], Field(max_length=MAX_STEPS)]


class Guard(Step):
    """A probe run beside the steps; the trial stops when it keeps failing."""

    interval_seconds: float = Field(
        default=5.0,
        ge=0.05,
        le=24 * 3600,
        allow_inf_nan=False,
        description="Time between two runs of the probe.",
    )
    tolerance: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Consecutive failures allowed before the guard trips.",
    )

    @property
    def name(self) -> str:
        return self.title


GuardList = Annotated[list[Guard], Field(max_length=MAX_STEPS)]
# Safety limits (optional, additive): a trial's longest run, and how many
# trials of one experiment may run at once.
MaxDuration = Annotated[
    float, Field(gt=0, le=MAX_STEP_TIMEOUT_SECONDS, allow_inf_nan=False)
]
MaxConcurrent = Annotated[int, Field(ge=1, le=1_000_000)]


class _ExperimentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Description | None = None
    metadata: JsonObject = Field(default_factory=dict)
    parameters: JsonObject = Field(default_factory=dict)
    pre_steps: StepList = Field(default_factory=list)
    post_steps: StepList = Field(default_factory=list)
    guards: GuardList | None = Field(
        default=None, description="Probes run beside the steps; one failing stops."
    )
    max_duration_seconds: MaxDuration | None = Field(
        default=None, description="A trial running longer is stopped."
    )
    max_concurrent_trials: MaxConcurrent | None = Field(
        default=None, description="More trials of this experiment wait their turn."
    )

    @field_validator("description")
    @classmethod
    def _description_not_null(cls, value: str | None) -> str | None:
        # Runs only when the body gives it: Kallisti's description may be
        # blank or left out, never null (400 on POST, PUT and PATCH alike).
        if value is None:
            raise ValueError('cannot be null; send "" or leave it out')
        return value


class ExperimentCreate(_ExperimentFields):
    """Body of POST (and PUT) /experiment."""

    name: Name
    steps: StepList = Field(description="Steps run in order; may be empty (`[]`).")


class ExperimentUpdate(BaseModel):
    """Body of PATCH /experiment/{id}: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    metadata: JsonObject | None = None
    parameters: JsonObject | None = None
    pre_steps: StepList | None = None
    steps: StepList | None = None
    post_steps: StepList | None = None
    guards: GuardList | None = None
    max_duration_seconds: MaxDuration | None = None
    max_concurrent_trials: MaxConcurrent | None = None

    @field_validator(
        "name",
        "description",
        "steps",
        "metadata",
        "parameters",
        "pre_steps",
        "post_steps",
    )
    @classmethod
    def _no_nulls_for_required(cls, value: Any) -> Any:
        # Runs only for fields the body gives: an omitted field stays unchanged.
        if value is None:
            raise ValueError("cannot be null; omit the field to leave it unchanged")
        return value


class ExperimentPublic(ExperimentCreate):
    """An experiment as the API returns it."""

    model_config = ConfigDict(extra="ignore")

    # Kallisti's model stores a missing description as "" and answers it so.
    description: str = ""
    id: UUID
    created_by: str
    created_at: datetime
    updated_at: datetime

    @field_validator("description", mode="before")
    @classmethod
    def _blank_description(cls, value: Any) -> Any:
        return "" if value is None else value


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
    initiated_from: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=32),
            AfterValidator(_check_text),
        ]
        | None
    ) = Field(
        default=None,
        description="Where the trial came from, kept as sent (as Kallisti does); "
        "default `api`.",
    )
    guards: GuardList | None = Field(
        default=None, description="Replace the experiment's guards for this trial."
    )
    max_duration_seconds: MaxDuration | None = Field(
        default=None, description="Stop the trial once it has run this long."
    )


class TrialPublic(BaseModel):
    """A trial as the API returns it.

    Its objects are not held to the input rules: the record nests a step's
    `where` a few levels deeper than the request did, and reading a trial must
    never fail.
    """

    id: UUID
    experiment: UUID
    parameters: dict[str, Any]
    metadata: dict[str, Any]
    ticket: dict[str, Any]
    status: TrialStatus
    trial_record: dict[str, Any]
    initiated_by: str
    initiated_from: str
    dry_run: bool = False
    schedule_id: UUID | None = None
    guards: list[dict[str, Any]] | None = None
    max_duration_seconds: float | None = None
    stop_reason: str | None = Field(
        default=None,
        description="Why it ended early: user, guard:<name>, halt, max_duration, "
        "worker_lost, shutdown.",
    )
    waiting_for: str | None = Field(
        default=None, description="What a Scheduled trial waits for (a target)."
    )
    residual_faults: list[dict[str, Any]] | None = Field(
        default=None, description="Faults still in place after the post steps."
    )
    created_at: datetime
    executed_at: datetime | None
    completed_at: datetime | None


def stored_experiment(data: Any) -> ExperimentPublic:
    """Read an experiment as stored: steps our rules would refuse (a Kallisti
    import) are kept as they are; raises `ValidationError` for anything else."""
    return ExperimentPublic.model_validate(data, context={_AS_STORED: True})
