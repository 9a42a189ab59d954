"""The catalogue: every installed namespace and its actions, read from the registry.

Nothing here is written by hand: namespaces come from the registry's map
(entry points and settings, third-party modules included), actions from what
each module lists, arguments from each function's signature. The engine fills
`step_context` itself, so it is never an argument a step can give.

A namespace whose module cannot be imported is listed with its `error`, so one
broken plug-in does not hide the others.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kallisti.domain.errors import StepError, UnknownModuleName
from kallisti.modules.context import STEP_CONTEXT_PARAMETER
from kallisti.modules.registry import Action, ModuleRegistry

__all__ = [
    "ActionInfo",
    "ArgumentInfo",
    "NamespaceInfo",
    "build_catalogue",
    "describe_action",
    "describe_namespace",
]

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True)
class ArgumentInfo:
    """One `where` key an action takes."""

    name: str
    type: str
    default: Any
    """The default as JSON (its `repr` when it has no JSON form); None when required."""
    required: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
        }


@dataclass(frozen=True)
class ActionInfo:
    """One action: `name` is what follows the namespace in `do`."""

    name: str
    doc: str
    probe: bool
    """True for read-only actions: a dry run runs them for real."""
    arguments: tuple[ArgumentInfo, ...]

    def argument(self, name: str) -> ArgumentInfo | None:
        return next((a for a in self.arguments if a.name == name), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arguments if a.required)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "doc": self.doc,
            "probe": self.probe,
            "arguments": [a.to_json() for a in self.arguments],
        }


@dataclass(frozen=True)
class NamespaceInfo:
    """A namespace, the module serving it and its actions (sorted by name)."""

    name: str
    module: str
    actions: tuple[ActionInfo, ...]
    error: str | None = None
    """Why the module could not be read; then `actions` is empty."""

    def action(self, name: str) -> ActionInfo | None:
        return next((a for a in self.actions if a.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "actions": [a.to_json() for a in self.actions],
            "error": self.error,
        }


def build_catalogue(registry: ModuleRegistry) -> list[NamespaceInfo]:
    """Every namespace of `registry`, sorted by name; never raises for a broken
    module (its `NamespaceInfo.error` says why)."""
    return [describe_namespace(registry, name) for name in sorted(registry.namespaces)]


def describe_namespace(registry: ModuleRegistry, namespace: str) -> NamespaceInfo:
    """The actions of one namespace.

    Raises `UnknownModuleName` when no module serves `namespace`; a module that
    cannot be imported gives a `NamespaceInfo` with its `error`.
    """
    module = registry.namespaces.get(namespace)
    if module is None:
        known = ", ".join(sorted(registry.namespaces)) or "none"
        raise UnknownModuleName(
            f"Unknown module name {namespace!r}; registered namespaces: {known}."
        )
    try:
        actions = registry.actions(namespace)
    except (StepError, ImportError) as err:
        return NamespaceInfo(namespace, str(module), (), error=str(err))
    prefix = len(namespace) + 1
    described = [describe_action(action, action.do[prefix:]) for action in actions]
    return NamespaceInfo(
        namespace, str(module), tuple(sorted(described, key=lambda a: a.name))
    )


def describe_action(action: Action, name: str | None = None) -> ActionInfo:
    """What a step may write for `action`: its doc, whether it is a probe, and
    each argument (type, default, required) from its signature."""
    hints = _hints(action.function)
    arguments = tuple(
        _argument(parameter, hints.get(parameter.name))
        for parameter in action.signature.parameters.values()
        if parameter.name != STEP_CONTEXT_PARAMETER and parameter.kind not in _VARIADIC
    )
    return ActionInfo(
        name=name if name is not None else action.do.partition(".")[2],
        doc=inspect.cleandoc(action.function.__doc__ or ""),
        probe=action.is_read_only,
        arguments=arguments,
    )


def _hints(function: Any) -> Mapping[str, Any]:
    # Resolved annotations read better (`str | None`); a module whose hints
    # cannot be resolved keeps its annotation text.
    try:
        return typing.get_type_hints(function)
    except Exception:
        return {}


def _argument(parameter: inspect.Parameter, hint: Any) -> ArgumentInfo:
    required = parameter.default is inspect.Parameter.empty
    return ArgumentInfo(
        name=parameter.name,
        type=_type_name(hint if hint is not None else parameter.annotation),
        default=None if required else _jsonable(parameter.default),
        required=required,
    )


def _type_name(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    text = str(annotation)
    for noise in ("typing.", "collections.abc.", "kallisti.credentials.base."):
        text = text.replace(noise, "")
    return text.replace("NoneType", "None")


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return repr(value)
