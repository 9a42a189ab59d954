"""The fault ledger for `cf`: a stopped app.

Whatever action stops apps (`stop_app`, `stop_all_apps`), each stop is one
``PUT /v2/apps/<guid>`` with state STOPPED; the step's session records the app
before the request is sent (see `access.cf_action`). An entry (`kind:
cf_app_stopped`, `app_guid`) is in place while the app is stopped, and undone
by starting it. A deleted app holds no fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import chaoscf.api

from kallisti.domain.errors import StepFailed
from kallisti.modules.cf.access import cf_action
from kallisti.modules.context import StepContext

__all__ = ["fault_in_place", "revert_fault"]

_ACCESS_NAMES = ("cf_api_url", "client_id", "client_secret", "credentials")


def _app_state(app_guid: str, configuration: Any, secrets: Any) -> str | None:
    answer = chaoscf.api.call_api(
        f"/v2/apps/{app_guid}", configuration, secrets, method="GET"
    )
    if answer.status_code == 404:
        return None
    if answer.status_code >= 400:
        raise StepFailed(f"Reading app {app_guid} answered {answer.status_code}.")
    return str(answer.json()["entity"]["state"])


def _start_app(app_guid: str, configuration: Any, secrets: Any) -> str:
    answer = chaoscf.api.call_api(
        f"/v2/apps/{app_guid}",
        configuration,
        secrets,
        method="PUT",
        body={"state": "STARTED"},
    )
    if answer.status_code >= 400:
        raise StepFailed(f"Starting app {app_guid} answered {answer.status_code}.")
    return f"started Cloud Foundry app {app_guid}"


_read_state = cf_action(_app_state, changes=False, source=__name__)
_start = cf_action(_start_app, changes=True, source=__name__)


def _arguments(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> dict[str, Any]:
    if undo.get("kind") != "cf_app_stopped":
        raise StepFailed(f"Unknown kind of cf ledger entry: {undo.get('kind')!r}.")
    return {
        **{k: where[k] for k in _ACCESS_NAMES if k in where},
        "app_guid": undo["app_guid"],
        "step_context": step_context,
    }


def fault_in_place(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> bool:
    """Whether the recorded app is still stopped (the ledger's check hook)."""
    state = _read_state(**_arguments(undo, where, step_context))
    return bool(state == "STOPPED")


def revert_fault(
    undo: Mapping[str, Any], where: Mapping[str, Any], step_context: StepContext
) -> str:
    """Start the recorded app (the ledger's revert hook)."""
    return str(_start(**_arguments(undo, where, step_context)))
