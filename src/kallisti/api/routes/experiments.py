"""/experiment: create, list, read, replace, update and soft-delete experiments."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import TypeAdapter

from kallisti.api.deps import Editor, PageQuery, State, Viewer
from kallisti.api.masking import masked_experiment, masked_experiment_data
from kallisti.api.pagination import list_response
from kallisti.api.responses import model_response
from kallisti.api.routes.validation import Checker, ExperimentChecked
from kallisti.domain.models import ExperimentCreate, ExperimentPublic, ExperimentUpdate

router = APIRouter(prefix="/experiment", tags=["experiment"])

_LIST = TypeAdapter(list[ExperimentPublic])


@router.get("", response_model=list[ExperimentPublic])
def list_experiments(
    request: Request, state: State, page: PageQuery, caller: Viewer
) -> Response:
    """Live experiments, oldest first (deleted ones are left out; with a scope
    label, only those in the caller's scope)."""
    items, total = state.store.experiments.list(page, state.scope_of(caller))
    return list_response(
        request, _LIST, [masked_experiment(e) for e in items], total, page
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ExperimentChecked)
async def create_experiment(
    body: ExperimentCreate, state: State, caller: Editor, checker: Checker
) -> Response:
    """Store an experiment. Creating one never touches any infrastructure.
    `warnings` lists what would fail when a trial runs it. 403 when its
    metadata label is not one of the caller's scopes."""
    state.access.check_labels(caller, body.metadata)
    experiment = await state.writes.write(
        "create",
        lambda conn: state.store.experiments.create(body, caller.user_id, conn),
    )
    return Response(
        checker.checked_json(masked_experiment_data(experiment)),
        status.HTTP_201_CREATED,
        media_type="application/json",
    )


@router.get("/{experiment_id}", response_model=ExperimentPublic)
async def read_experiment(
    experiment_id: UUID, state: State, caller: Viewer
) -> Response:
    experiment = await state.read(
        state.store.experiments.get, experiment_id, state.scope_of(caller)
    )
    return model_response(masked_experiment(experiment))


@router.put("/{experiment_id}")
def replace_experiment(
    experiment_id: UUID,
    body: ExperimentCreate,
    state: State,
    caller: Editor,
    checker: Checker,
) -> ExperimentChecked:
    """Replace the fields given (`name` and `steps` are required); a field left
    out keeps its value, as in Kallisti. Trials already created keep the version
    they ran.
    A masked secret (`*****`) sent back keeps the stored value."""
    state.access.check_labels(caller, body.metadata)
    scope = state.scope_of(caller)
    experiment = state.store.experiments.replace(experiment_id, body, scope)
    return checker.checked(masked_experiment(experiment))


@router.patch("/{experiment_id}")
def update_experiment(
    experiment_id: UUID,
    body: ExperimentUpdate,
    state: State,
    caller: Editor,
    checker: Checker,
) -> ExperimentChecked:
    """Change the fields given."""
    if "metadata" in body.model_fields_set:
        state.access.check_labels(caller, body.metadata or {})
    scope = state.scope_of(caller)
    experiment = state.store.experiments.update(experiment_id, body, scope)
    return checker.checked(masked_experiment(experiment))


@router.delete("/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_experiment(experiment_id: UUID, state: State, caller: Editor) -> Response:
    """Soft delete: gone from lists and reads, its schedules deleted with it;
    its trials stay readable by id."""
    state.store.experiments.soft_delete(experiment_id, state.scope_of(caller))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
