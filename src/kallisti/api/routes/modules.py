"""/modules: the catalogue of installed namespaces and actions (read-only).

What step authors, the validation warnings and the console's completion read.
The catalogue is built once per application from the same module map the
worker uses (entry points plus the settings' map); modules are read when it is
first asked for, not at start-up.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from kallisti.api.deps import State, Viewer
from kallisti.domain.errors import NotFound
from kallisti.modules import ModuleRegistry
from kallisti.modules.catalogue import NamespaceInfo, build_catalogue

router = APIRouter(prefix="/modules", tags=["modules"])

_lock = threading.Lock()


class ArgumentPublic(BaseModel):
    name: str
    type: str
    default: Any
    required: bool


class ActionPublic(BaseModel):
    name: str
    doc: str
    probe: bool
    arguments: list[ArgumentPublic]


class NamespacePublic(BaseModel):
    name: str
    module: str
    actions: list[ActionPublic]
    error: str | None = None
    """Why the module could not be imported (then `actions` is empty)."""


def _catalogue(request: Request, state: State) -> list[NamespaceInfo]:
    with _lock:
        built: list[NamespaceInfo] | None = getattr(
            request.app.state, "kallisti_catalogue", None
        )
        if built is None:
            registry = ModuleRegistry.discover(state.settings.module_map)
            built = build_catalogue(registry)
            request.app.state.kallisti_catalogue = built
    return built


Catalogue = Annotated[list[NamespaceInfo], Depends(_catalogue)]


@router.get("", response_model=list[NamespacePublic])
def list_modules(catalogue: Catalogue, _: Viewer) -> list[dict[str, Any]]:
    """Every installed namespace with its actions: for each action its `doc`,
    whether it is a `probe` (read-only; a dry run runs it) and its `arguments`
    (`name`, `type`, `default`, `required`), read from the functions themselves.
    A namespace whose module cannot be imported carries an `error`."""
    return [namespace.to_json() for namespace in catalogue]


@router.get("/{namespace}", response_model=NamespacePublic)
def read_module(namespace: str, catalogue: Catalogue, _: Viewer) -> dict[str, Any]:
    """One namespace and its actions; 404 when no module serves it."""
    for info in catalogue:
        if info.name == namespace:
            return info.to_json()
    raise NotFound("Module namespace", namespace)
