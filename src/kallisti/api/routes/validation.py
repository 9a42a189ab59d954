"""Warnings on experiments and schedules (an additional field, SPEC A1), and
`POST /experiment/validate`, which checks an experiment and stores nothing.

The checks (`kallisti.modules.checks`) resolve each step's action through the
same module registry the worker uses; they warn, never refuse.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import ServiceState, Viewer
from kallisti.domain.models import ExperimentCreate, ExperimentPublic
from kallisti.domain.schedules import SchedulePublic
from kallisti.modules.checks import Checks

__all__ = [
    "Checker",
    "ExperimentChecked",
    "ExperimentChecker",
    "ScheduleChecked",
    "WarningPublic",
    "router",
]

router = APIRouter(prefix="/experiment", tags=["experiment"])
_lock = threading.Lock()


class WarningPublic(BaseModel):
    field: str
    message: str
    fix: str | None = None


class ExperimentChecked(ExperimentPublic):
    """An experiment as the API returns it after a change, with `warnings`."""

    warnings: list[WarningPublic]


class ScheduleChecked(SchedulePublic):
    """A schedule as the API returns it after a change, with `warnings` about
    its experiment's steps under the schedule's parameters."""

    warnings: list[WarningPublic]


class ValidationPublic(BaseModel):
    """The answer of `POST /experiment/validate`."""

    valid: bool
    """False when a trial of it would fail for one of the `warnings`."""
    warnings: list[WarningPublic]


class ExperimentChecker(Checks):
    """The checks, answered in the API's shapes."""

    def warnings(
        self, experiment: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> list[WarningPublic]:
        found = self.check(experiment, parameters)
        return [WarningPublic.model_validate(w.to_json()) for w in found]

    def checked(self, experiment: ExperimentPublic) -> ExperimentChecked:
        data = experiment.model_dump()
        return ExperimentChecked.model_validate(
            {**data, "warnings": self.warnings(experiment.model_dump(mode="json"))}
        )

    def checked_json(self, experiment: dict[str, Any]) -> bytes:
        """`checked` of an experiment's JSON data (`masked_experiment_data`),
        written as JSON: the same bytes, without a model built on the way."""
        found = self.check(experiment)
        answer = {**experiment, "warnings": [w.to_json() for w in found]}
        return pydantic_core.to_json(answer, inf_nan_mode="null")

    def checked_schedule(
        self, schedule: SchedulePublic, experiment: ExperimentPublic
    ) -> ScheduleChecked:
        warnings = self.warnings(
            experiment.model_dump(mode="json"), dict(schedule.parameters)
        )
        return ScheduleChecked.model_validate(
            {**schedule.model_dump(), "warnings": warnings}
        )


async def _checker(request: Request) -> ExperimentChecker:
    # A coroutine with no dependency of its own: once built, handing out the
    # checker needs no thread, and nothing else is solved for it.
    checker: ExperimentChecker | None = getattr(
        request.app.state, "kallisti_checker", None
    )
    if checker is None:
        state: ServiceState = request.app.state.kallisti
        checker = await run_in_threadpool(_build_checker, request, state)
    return checker


def _build_checker(request: Request, state: ServiceState) -> ExperimentChecker:
    # Built once per application, when first needed (it imports the modules).
    with _lock:
        checker: ExperimentChecker | None = getattr(
            request.app.state, "kallisti_checker", None
        )
        if checker is None:
            checker = ExperimentChecker(state.settings)
            request.app.state.kallisti_checker = checker
    return checker


Checker = Annotated[ExperimentChecker, Depends(_checker)]


@router.post("/validate")
def validate_experiment(
    body: ExperimentCreate, checker: Checker, _: Viewer
) -> ValidationPublic:
    """Check an experiment as `POST /experiment` would, and more, storing
    nothing: a body that `POST /experiment` refuses is refused the same way
    (400); otherwise `warnings` lists what would fail when a trial runs it."""
    warnings = checker.warnings(body.model_dump(mode="json"))
    return ValidationPublic(valid=not warnings, warnings=warnings)
