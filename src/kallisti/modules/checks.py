"""Mistakes in an experiment that only show when a trial runs, found before:
steps whose action does not resolve, `where` arguments the action does not
take or misses, templates with no value, credentials of an unknown type.

These are warnings, never refusals: Kallisti accepts such experiments, and a
trial may supply a missing parameter. Each names the step (section and index),
the field, and a fix where one can be guessed ("did you mean ...?").
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from kallisti.credentials.registry import ENTRY_POINT_GROUP as CREDENTIALS_GROUP
from kallisti.domain.errors import KallistiError, StepError
from kallisti.domain.record import SECTIONS
from kallisti.domain.templating import Templates
from kallisti.modules.catalogue import NamespaceInfo, build_catalogue
from kallisti.modules.context import STEP_CONTEXT_PARAMETER
from kallisti.modules.registry import ModuleRegistry
from kallisti.settings import Settings

__all__ = ["Checks", "StepWarning", "experiment_warnings"]

_CREDENTIALS = "credentials"


@dataclass(frozen=True)
class StepWarning:
    """One thing that will go wrong when a trial runs the step."""

    field: str
    """Where, as the API names fields: `steps.0.where.url`."""
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "fix": self.fix}


class Checks:
    """The checks with a service's modules and credential types (build it once).

    The catalogue, which imports every module (boto3, kubernetes, ... some
    45 MiB the process never gives back), is built only when a step's `do`
    does not resolve, to suggest the nearest action.
    """

    def __init__(self, settings: Settings) -> None:
        self.registry = ModuleRegistry.discover(settings.module_map)
        types = {ep.name for ep in entry_points(group=CREDENTIALS_GROUP)}
        self.credential_types = types | set(settings.credential_map)

    @functools.cached_property
    def catalogue(self) -> list[NamespaceInfo]:
        return build_catalogue(self.registry)

    def check(
        self,
        experiment: Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
    ) -> list[StepWarning]:
        """Every warning for `experiment` (see `experiment_warnings`)."""
        return experiment_warnings(
            experiment,
            self.registry,
            lambda: self.catalogue,
            self.credential_types,
            parameters,
        )


def experiment_warnings(
    experiment: Mapping[str, Any],
    registry: ModuleRegistry,
    catalogue: Callable[[], Sequence[NamespaceInfo]],
    credential_types: Iterable[str],
    parameters: Mapping[str, Any] | None = None,
) -> list[StepWarning]:
    """Every warning for `experiment` (a body as the API takes it).

    `parameters` are laid over the experiment's (a schedule's or a trial's);
    `catalogue` is asked for only when a step's `do` does not resolve.
    Never raises for a bad step: that is what the warnings say.
    """

    def known_dos() -> list[str]:
        return [
            f"{namespace.name}.{action.name}"
            for namespace in catalogue()
            for action in namespace.actions
        ]

    merged = {**(experiment.get("parameters") or {}), **(parameters or {})}
    templates = Templates(merged)
    types = sorted(credential_types)
    warnings: list[StepWarning] = []
    for section in SECTIONS:
        for index, step in enumerate(experiment.get(section) or []):
            if isinstance(step, Mapping):
                at = f"{section}.{index}"
                warnings += _step_warnings(step, at, registry, known_dos)
                warnings += _template_warnings(step, at, templates)
                warnings += _credential_warnings(step, at, types)
    return warnings


def _step_warnings(
    step: Mapping[str, Any],
    at: str,
    registry: ModuleRegistry,
    known: Callable[[], list[str]],
) -> list[StepWarning]:
    do = str(step.get("do", ""))
    try:
        action = registry.resolve(do)
    except (StepError, ImportError) as err:
        return [StepWarning(f"{at}.do", str(err), _did_you_mean(do, known()))]
    where = step.get("where")
    if not isinstance(where, Mapping):
        return []
    parameters = {
        name: parameter
        for name, parameter in action.signature.parameters.items()
        if name != STEP_CONTEXT_PARAMETER
    }
    takes_any = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    named = [
        name
        for name, p in parameters.items()
        if p.kind
        not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    warnings: list[StepWarning] = []
    if not takes_any:
        for key in where:
            if key != _CREDENTIALS and key not in parameters:
                warnings.append(
                    StepWarning(
                        f"{at}.where.{key}",
                        f"`{do}` takes no argument `{key}`; it takes "
                        + (", ".join(f"`{n}`" for n in named) or "none")
                        + ".",
                        _did_you_mean(str(key), named),
                    )
                )
    for name in named:
        if parameters[name].default is inspect.Parameter.empty and name not in where:
            warnings.append(
                StepWarning(
                    f"{at}.where",
                    f"`{do}` needs the argument `{name}`.",
                    f"add `{name}` to `where`",
                )
            )
    return warnings


def _template_warnings(
    step: Mapping[str, Any], at: str, templates: Templates
) -> list[StepWarning]:
    try:
        missing = templates.missing(step.get("where") or {})
    except (KallistiError, ValueError):
        return []  # refused at creation already (A3); nothing to add here
    return [
        StepWarning(
            f"{at}.where",
            f"template `{{{{ {name} }}}}` has no value in the parameters.",
            f"add `{name}` to the experiment's `parameters` (or pass it with "
            "each trial)",
        )
        for name in sorted(missing)
    ]


def _credential_warnings(
    step: Mapping[str, Any], at: str, types: list[str]
) -> list[StepWarning]:
    where = step.get("where")
    spec = where.get(_CREDENTIALS) if isinstance(where, Mapping) else None
    if spec is None:
        return []
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind in types:
        return []
    return [
        StepWarning(
            f"{at}.where.{_CREDENTIALS}.type",
            f"unknown credential type {kind!r}; known: " + ", ".join(types) + ".",
            _did_you_mean(str(kind), types),
        )
    ]


def _did_you_mean(value: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None
