"""What a trial would touch: `POST /experiment/targets` (before it runs) and
`GET /trial/{id}/targets` (a trial's own, from the experiment it ran).

Both change and store nothing. Targets are found as the worker's target
leases find them (see `kallisti.safety.targets`); secrets are masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kallisti.api.deps import State, Viewer
from kallisti.api.routes.validation import Checker
from kallisti.domain.models import ExperimentPublic, JsonObject
from kallisti.safety.targets import StepTargets, step_targets

__all__ = ["StepTargetsPublic", "TargetsPublic", "TargetsRequest", "router"]

router = APIRouter(tags=["experiment"])


class TargetsRequest(BaseModel):
    """Body of POST /experiment/targets: the fields of POST /trial that decide
    what a trial touches."""

    model_config = ConfigDict(extra="forbid")

    experiment: UUID
    parameters: JsonObject = Field(
        default_factory=dict, description="Override the experiment's parameters."
    )


class StepTargetsPublic(BaseModel):
    section: Literal["pre_steps", "steps", "post_steps"]
    index: int
    step: str | None = Field(description="The step's title, if it has one.")
    do: str
    where: dict[str, Any] = Field(
        description="The arguments after templating; secrets masked."
    )
    changes: bool | None = Field(
        description="False for a probe (it changes nothing); null when `do` "
        "does not resolve."
    )
    targets: list[str] = Field(
        description="What the step touches, as target leases name it "
        "(`k8s/<cluster>/<namespace>/selector:app=web`)."
    )
    problem: str | None = Field(
        description="Why the targets could not be named; a trial would fail there too."
    )


class TargetsPublic(BaseModel):
    """The answer: each pre step, step and post step, then every target once."""

    steps: list[StepTargetsPublic]
    targets: list[str]


def _answer(found: Sequence[StepTargets]) -> TargetsPublic:
    steps = [
        StepTargetsPublic(
            section=entry.section,
            index=entry.index,
            step=entry.title,
            do=entry.do,
            where=dict(entry.where),
            changes=entry.changes,
            targets=entry.targets,
            problem=entry.problem,
        )
        for entry in found
    ]
    every = sorted({target for entry in found for target in entry.targets})
    return TargetsPublic(steps=steps, targets=every)


def _targets(
    checker: Checker, experiment: ExperimentPublic, parameters: dict[str, Any]
) -> TargetsPublic:
    return _answer(step_targets(experiment, parameters, checker.registry))


@router.post("/experiment/targets")
def preview_targets(
    body: TargetsRequest, state: State, caller: Viewer, checker: Checker
) -> TargetsPublic:
    """What a trial of the experiment with these `parameters` would touch, step
    by step, as its target leases would name it; runs and stores nothing. 404
    when the experiment is unknown or out of the caller's scope."""
    experiment = state.store.experiments.get(body.experiment, state.scope_of(caller))
    return _targets(checker, experiment, body.parameters)


@router.get("/trial/{trial_id}/targets")
def trial_targets(
    trial_id: UUID, state: State, caller: Viewer, checker: Checker
) -> TargetsPublic:
    """What the trial touches (or, for a dry run, would touch), step by step,
    from the experiment as it was when the trial was created. 404 when the
    trial is unknown or out of the caller's scope."""
    state.store.trials.get(trial_id, state.scope_of(caller))
    experiment, parameters = state.store.safety.trial_plan(trial_id)
    return _targets(checker, experiment, parameters)
