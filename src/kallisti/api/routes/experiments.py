"""/experiment: create, list, read, replace, update and soft-delete experiments."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import Editor, PageQuery, State, Viewer
from kallisti.api.masking import masked_experiment
from kallisti.api.pagination import list_response
from kallisti.api.responses import model_response
from kallisti.api.routes.validation import Checker, ExperimentChecked
from kallisti.domain.models import ExperimentCreate, ExperimentPublic, ExperimentUpdate

router = APIRouter(prefix="/experiment", tags=["experiment"])

_LIST = TypeAdapter(list[ExperimentPublic])


@router.get("", response_model=list[ExperimentPublic])
def list_experiments(
    request: Request, state: State, page: PageQuery, _: Viewer
) -> Response:
    """Live experiments, oldest first (deleted ones are left out)."""
    items, total = state.store.experiments.list(page)
    return list_response(
        request, _LIST, [masked_experiment(e) for e in items], total, page
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ExperimentChecked)
async def create_experiment(
    body: ExperimentCreate, state: State, caller: Editor, checker: Checker
) -> Response:
    """Store an experiment. Creating one never touches any infrastructure.
    `warnings` lists what would fail when a trial runs it."""
    experiment = await run_in_threadpool(
        state.store.experiments.create, body, created_by=caller.user_id
    )
    checked = checker.checked(masked_experiment(experiment))
    return model_response(checked, status.HTTP_201_CREATED)


@router.get("/{experiment_id}", response_model=ExperimentPublic)
async def read_experiment(experiment_id: UUID, state: State, _: Viewer) -> Response:
    experiment = await state.read(state.store.experiments.get, experiment_id)
    return model_response(masked_experiment(experiment))


@router.put("/{experiment_id}")
def replace_experiment(
    experiment_id: UUID,
    body: ExperimentCreate,
    state: State,
    _: Editor,
    checker: Checker,
) -> ExperimentChecked:
    """Replace every field. Trials already created keep the version they ran.
    A masked secret (`*****`) sent back keeps the stored value."""
    experiment = state.store.experiments.replace(experiment_id, body)
    return checker.checked(masked_experiment(experiment))


@router.patch("/{experiment_id}")
def update_experiment(
    experiment_id: UUID,
    body: ExperimentUpdate,
    state: State,
    _: Editor,
    checker: Checker,
) -> ExperimentChecked:
    """Change the fields given."""
    experiment = state.store.experiments.update(experiment_id, body)
    return checker.checked(masked_experiment(experiment))


@router.delete("/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_experiment(experiment_id: UUID, state: State, _: Editor) -> Response:
    """Soft delete: gone from lists and reads, its schedules deleted with it;
    its trials stay readable by id."""
    state.store.experiments.soft_delete(experiment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
