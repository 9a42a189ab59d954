"""The module registry: which Python module serves each `do` namespace.

Namespaces come from entry points (group ``kallisti.modules``), so built-in and
third-party modules are found alike, and the settings may override the map.
A step's `do` is resolved only through this map: user data never names an
import path. An action is a public callable the module lists in ``__all__``
(or one of the modules named in its ``__actions_modules__``), as in Kallisti.

A module may also define ``default_credentials(where) -> dict | None``: the
credential spec to use when a step gives none and its action takes
``credentials`` (``k8s`` uses the in-cluster service-account token this way),
and ``__find_action__(function_path) -> callable | None``: a second chance for
a path its listed names do not reach (``aws`` finds ``aws.stop_instance`` by
its last part, as Kallisti does). `actions` lists what the listed names reach.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from kallisti.domain.errors import CouldNotFindFunction, UnknownModuleName
from kallisti.modules.context import TARGETS_HOOK, is_read_only

__all__ = ["ENTRY_POINT_GROUP", "Action", "ModuleRegistry"]

ENTRY_POINT_GROUP = "kallisti.modules"


@dataclass(frozen=True)
class Action:
    """A resolved action: the function a step's `do` names, with its signature."""

    do: str
    function: Callable[..., Any]
    signature: inspect.Signature
    module: ModuleType

    @property
    def is_read_only(self) -> bool:
        return is_read_only(self.function)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    def accepts(self, parameter: str) -> bool:
        """Tell whether the action declares `parameter` by name (not via **kwargs)."""
        return parameter in self.signature.parameters

    def targets(self, where: Mapping[str, Any]) -> list[str]:
        """What this action touches (none for a probe or a module without the
        `targets` hook)."""
        hook = getattr(self.module, TARGETS_HOOK, None)
        if self.is_read_only or not callable(hook):
            return []
        return list(hook(self.do.split(".", 1)[1], where))

    def default_credentials(self, where: Mapping[str, Any]) -> Mapping[str, Any] | None:
        hook = getattr(self.module, "default_credentials", None)
        return hook(where) if callable(hook) else None


class ModuleRegistry:
    """Maps namespaces to modules and resolves `do` strings to actions."""

    def __init__(self, module_map: Mapping[str, str]) -> None:
        self._module_map = dict(module_map)
        self._loaded: dict[str, ModuleType] = {}
        self._actions: dict[str, Action] = {}

    @classmethod
    def discover(cls, overrides: Mapping[str, str] | None = None) -> ModuleRegistry:
        """Build the map from installed entry points, then apply `overrides`."""
        module_map = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
        module_map.update(overrides or {})
        return cls(module_map)

    @property
    def namespaces(self) -> dict[str, str]:
        return dict(self._module_map)

    def resolve(self, do: str) -> Action:
        """Return the action `do` names.

        Raises `UnknownModuleName` or `CouldNotFindFunction`.
        """
        cached = self._actions.get(do)
        if cached is not None:
            return cached
        namespace, _, function_path = do.partition(".")
        module = self._module(namespace)
        function = _find_action(module, function_path)
        if function is None:
            raise CouldNotFindFunction(
                f"Could not find function {do!r}: module {module.__name__} has no "
                f"action {function_path!r}."
            )
        action = Action(do, function, inspect.signature(function), module)
        self._actions[do] = action
        return action

    def actions(self, namespace: str) -> list[Action]:
        """Every action of `namespace`, by function path: the callables its
        ``__all__`` lists, through listed submodules, then those of its
        ``__actions_modules__`` (the first holder of a name wins, as in `resolve`).

        Raises `UnknownModuleName`.
        """
        module = self._module(namespace)
        paths: dict[str, None] = {}
        for holder in [module, *_action_modules(module)]:
            for path in _listed_paths(holder):
                paths.setdefault(path)
        return [self.resolve(f"{namespace}.{path}") for path in paths]

    def _module(self, namespace: str) -> ModuleType:
        if namespace in self._loaded:
            return self._loaded[namespace]
        path = self._module_map.get(namespace)
        if path is None:
            known = ", ".join(sorted(self._module_map)) or "none"
            raise UnknownModuleName(
                f"Unknown module name {namespace!r}; registered namespaces: {known}."
            )
        try:
            module = importlib.import_module(path)
        except ImportError as err:
            raise UnknownModuleName(
                f"Module {path!r} for namespace {namespace!r} cannot be imported: {err}"
            ) from err
        self._loaded[namespace] = module
        return module


def _public_names(module: ModuleType) -> list[str]:
    """Names a step may reach: the module's `__all__`; without one, only the
    functions and submodules it defines itself (never what it imported)."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (
            (inspect.isfunction(value) and value.__module__ == module.__name__)
            or (
                isinstance(value, ModuleType)
                and value.__name__.startswith(module.__name__ + ".")
            )
        )
    ]


def _find_action(module: ModuleType, function_path: str) -> Callable[..., Any] | None:
    """Walk `function_path` (``stop_app`` or ``ec2.stop_instance``) through
    public names only, so no step can reach a private or imported helper."""
    if not function_path or any(
        p.startswith("_") or not p for p in function_path.split(".")
    ):
        return None
    holders = [module, *_action_modules(module)]
    for holder in holders:
        found: Any = holder
        for part in function_path.split("."):
            if not isinstance(found, ModuleType) or part not in _public_names(found):
                found = None
                break
            found = getattr(found, part, None)
        if _is_action(found):
            return found  # type: ignore[no-any-return]
    fallback = getattr(module, "__find_action__", None)
    return fallback(function_path) if callable(fallback) else None


def _is_action(value: Any) -> bool:
    return callable(value) and not isinstance(value, ModuleType | type)


def _listed_paths(holder: ModuleType, prefix: str = "") -> list[str]:
    paths = []
    for name in _public_names(holder):
        if name.startswith("_"):
            continue
        value = getattr(holder, name, None)
        if isinstance(value, ModuleType):
            if value.__name__.startswith(holder.__name__ + "."):
                paths.extend(_listed_paths(value, f"{prefix}{name}."))
        elif _is_action(value):
            paths.append(prefix + name)
    return paths


def _action_modules(module: ModuleType) -> list[ModuleType]:
    names = getattr(module, "__actions_modules__", [])
    return [importlib.import_module(name) for name in names]
