"""Trial observers and trial-creation hooks, named in the settings as Kallisti's
`KALLISTI_TRIAL_OBSERVERS` and `TRIAL_TASK_CREATION_HOOKS` are.

Each entry is a "module:attribute" (or "module.attribute") string naming:

- an **observer** — a class (instantiated once with no arguments), an object
  with an `update(trial=...)` method (Kallisti's `Observer`), or a callable
  taking `trial=`; sync or async. It is called once for each trial that
  completes, with the completed `TrialPublic`, off the trial's path: it cannot
  delay or change the trial, and its errors are logged, never raised.
- a **creation hook** — a callable taking the `TrialCreate` request, run before
  the trial is recorded (by the API and by schedules). It may change the request
  in place or return a new one (re-validated), e.g. to attach a change ticket;
  raising a `KallistiError` refuses the trial with that error's message.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from kallisti.domain.errors import Conflict, InvalidInput, KallistiError
from kallisti.domain.models import TrialCreate, TrialPublic

__all__ = [
    "TrialCreationHooks",
    "TrialObservers",
    "load_object",
]

logger = logging.getLogger(__name__)


def load_object(path: str, setting: str) -> Any:
    """Import the object a "module:attribute" (or dotted) path names.

    Raises `InvalidInput` naming `setting` when the path is malformed, the module
    cannot be imported or the attribute does not exist.
    """
    module_name, sep, attribute = path.partition(":")
    if not sep:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise InvalidInput(setting, f"{path!r}: use 'package.module:attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as err:
        raise InvalidInput(
            setting, f"{path!r}: cannot import {module_name}: {err}"
        ) from err
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidInput(
                setting, f"{path!r}: {module_name} has no {attribute}"
            ) from None
    return target


def _observer_call(path: str, target: Any) -> Callable[..., Any]:
    if inspect.isclass(target):
        target = target()
    update = getattr(target, "update", None)
    if callable(update):
        return update  # type: ignore[no-any-return]
    if callable(target):
        return target  # type: ignore[no-any-return]
    raise InvalidInput(
        "trial_observers", f"{path!r} is neither callable nor has an update() method"
    )


class TrialObservers:
    """The observers the settings name, loaded once (an unknown path fails at
    start-up, with `InvalidInput`)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._observers = [
            (path, _observer_call(path, load_object(path, "trial_observers")))
            for path in paths
        ]

    def __len__(self) -> int:
        return len(self._observers)

    async def notify(self, trial: TrialPublic) -> None:
        """Call every observer with `trial=`; errors are logged, not raised.

        Sync observers run in a thread so that a slow one blocks nothing.
        """
        for path, call in self._observers:
            extra = {"trial_id": str(trial.id), "action": "observer"}
            try:
                if inspect.iscoroutinefunction(call):
                    await call(trial=trial)
                else:
                    result = await asyncio.to_thread(call, trial=trial)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                logger.exception("trial observer %s failed", path, extra=extra)


class TrialCreationHooks:
    """The creation hooks the settings name, applied in order."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._hooks: list[tuple[str, Callable[..., Any]]] = []
        for path in paths:
            hook = load_object(path, "trial_creation_hooks")
            if not callable(hook):
                raise InvalidInput("trial_creation_hooks", f"{path!r} is not callable")
            self._hooks.append((path, hook))

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def apply(self, request: TrialCreate) -> TrialCreate:
        """Return the request after every hook has seen it.

        Raises the hook's own `KallistiError`, or `Conflict` when a hook fails
        otherwise or returns something that is not a valid trial request.
        """
        for path, hook in self._hooks:
            candidate = request.model_copy(deep=True)
            try:
                returned = hook(candidate)
            except KallistiError:
                raise
            except Exception as err:
                logger.exception("trial creation hook %s failed", path)
                raise Conflict(
                    f"The trial was refused: creation hook {path} failed "
                    f"({type(err).__name__})."
                ) from err
            result = candidate if returned is None else returned
            try:
                data = (
                    result.model_dump() if isinstance(result, TrialCreate) else result
                )
                request = TrialCreate.model_validate(data)
            except ValidationError as err:
                raise Conflict(
                    f"The trial was refused: creation hook {path} returned an invalid "
                    f"trial request ({err.error_count()} error(s))."
                ) from err
        return request
