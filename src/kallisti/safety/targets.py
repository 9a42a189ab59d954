"""What a trial would touch, step by step, before it runs.

The targets are found exactly as the worker's target leases find them: each
step's `where` rendered with the experiment's parameters laid under the
trial's, then the module's `targets(action, where)` hook. Unlike the lease,
which skips a step it cannot read (the engine reports it), this says why.

What it answers is meant to be shown: values under secret-naming keys, and
parameters templated into a secret's place, are masked in the arguments and
in the target paths alike, as in the trial record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kallisti.domain.errors import KallistiError
from kallisti.domain.models import ExperimentPublic
from kallisti.domain.record import SECTIONS, Section
from kallisti.domain.secret_parameters import (
    secret_parameter_names,
    secret_parameter_values,
)
from kallisti.domain.secrets import (
    SecretRedactor,
    mask_secret_fields,
    secret_field_values,
)
from kallisti.domain.templating import Templates
from kallisti.modules.registry import ModuleRegistry

__all__ = ["StepTargets", "step_targets"]


@dataclass(frozen=True)
class StepTargets:
    """One step: the action it resolves to, its arguments and its targets."""

    section: Section
    index: int
    title: str | None
    do: str
    where: Mapping[str, Any]
    """The arguments as the step would get them, secrets masked."""
    changes: bool | None = None
    """False for a probe (it changes nothing); None when `do` does not resolve."""
    targets: list[str] = field(default_factory=list)
    problem: str | None = None
    """Why the targets could not be found (the step would fail as well)."""


def step_targets(
    experiment: ExperimentPublic,
    parameters: Mapping[str, Any],
    registry: ModuleRegistry,
) -> list[StepTargets]:
    """Every pre step, step and post step of `experiment` with its targets under
    `parameters` (laid over the experiment's). Never raises for a bad step."""
    merged = {**experiment.parameters, **parameters}
    steps = [
        (section, index, step)
        for section in SECTIONS
        for index, step in enumerate(getattr(experiment, section))
    ]
    secret_names = secret_parameter_names(merged, [s.where for _, _, s in steps])
    redactor = SecretRedactor(secret_parameter_values(merged, secret_names))
    templates = Templates(merged)
    found: list[StepTargets] = []
    for section, index, step in steps:
        entry = StepTargets(section, index, step.step or None, step.do, step.where)
        try:
            where = templates.render(step.where)
        except Exception as err:  # a missing parameter, a filter's bad value
            found.append(
                _resolved(entry, registry, _render_problem(templates, step.where, err))
            )
            continue
        # Learnt before anything is shown: a later step may echo this secret.
        redactor.add(*secret_field_values(where))
        found.append(_resolved(replace(entry, where=where), registry, None))
    return [
        replace(
            entry,
            where=redactor.redact(mask_secret_fields(entry.where)),
            targets=[redactor.redact_text(t) for t in entry.targets],
            problem=entry.problem and redactor.redact_text(entry.problem),
        )
        for entry in found
    ]


def _resolved(
    entry: StepTargets, registry: ModuleRegistry, render_problem: str | None
) -> StepTargets:
    try:
        action = registry.resolve(entry.do)
    except KallistiError as err:
        return replace(entry, problem=str(err))
    if action.is_read_only:
        return replace(entry, changes=False, problem=render_problem)
    if render_problem is not None:
        return replace(entry, changes=True, problem=render_problem)
    try:
        # The same call as the worker's target lease (`Admission.targets_of`).
        targets = action.targets(entry.where)
    except Exception as err:  # a module's hook given arguments it cannot read
        return replace(
            entry, changes=True, problem=f"its targets cannot be named: {_line(err)}"
        )
    return replace(entry, changes=True, targets=targets)


def _render_problem(templates: Templates, where: Any, err: Exception) -> str:
    try:
        missing = sorted(templates.missing(where))
    except KallistiError:  # a template that is not a plain placeholder
        missing = []
    if missing:
        names = ", ".join(missing)
        return f"no value for the parameter(s) {names}: give them in `parameters`"
    return f"its arguments cannot be rendered: {_line(err)}"


def _line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
