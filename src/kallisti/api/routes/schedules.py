"""/experiment/{id}/schedule: run an experiment on a cron (Kallisti's TrialSchedule).

Schedules are soft-deleted, alone or with their experiment; the trials they
started stay. A worker fires them (see `kallisti.worker.scheduler`).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import TypeAdapter

from kallisti.api.deps import Editor, PageQuery, ServiceState, State, Viewer
from kallisti.api.pagination import list_response
from kallisti.api.routes.validation import Checker, ScheduleChecked
from kallisti.auth import Principal
from kallisti.domain.schedules import ScheduleCreate, SchedulePublic, ScheduleUpdate

router = APIRouter(prefix="/experiment/{experiment_id}/schedule", tags=["schedule"])

_LIST = TypeAdapter(list[SchedulePublic])


def _check_scope(state: ServiceState, experiment_id: UUID, caller: Principal) -> None:
    """404 for a schedule of an experiment out of the caller's scope. An
    experiment is relabelled only by callers holding both labels (or admins),
    so the check may precede the schedule's own transaction."""
    state.store.experiments.check_in_scope(experiment_id, state.scope_of(caller))


@router.get("", response_model=list[SchedulePublic])
def list_schedules(
    experiment_id: UUID,
    request: Request,
    state: State,
    page: PageQuery,
    caller: Viewer,
) -> Response:
    """The experiment's schedules, oldest first, each with the trials it started.
    404 when the experiment is unknown, deleted or out of the caller's scope."""
    _check_scope(state, experiment_id, caller)
    items, total = state.store.schedules.list(experiment_id, page)
    return list_response(request, _LIST, items, total, page)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_schedule(
    experiment_id: UUID,
    body: ScheduleCreate,
    state: State,
    caller: Editor,
    checker: Checker,
) -> ScheduleChecked:
    """Schedule trials of the experiment by `recurrence_pattern` (cron, read in
    `timezone`), `recurrence_count` times or forever. 404 when the experiment is
    unknown, deleted or out of the caller's scope. `warnings` lists what would
    fail when it fires."""
    _check_scope(state, experiment_id, caller)
    schedule = state.store.schedules.create(
        experiment_id, body, created_by=caller.user_id
    )
    return checker.checked_schedule(
        schedule, state.store.experiments.get(experiment_id)
    )


@router.get("/{schedule_id}")
def read_schedule(
    experiment_id: UUID, schedule_id: UUID, state: State, caller: Viewer
) -> SchedulePublic:
    _check_scope(state, experiment_id, caller)
    return state.store.schedules.get(experiment_id, schedule_id)


@router.put("/{schedule_id}")
def replace_schedule(
    experiment_id: UUID,
    schedule_id: UUID,
    body: ScheduleCreate,
    state: State,
    caller: Editor,
    checker: Checker,
) -> ScheduleChecked:
    """Replace every field. A changed `recurrence_count` restarts
    `recurrence_left`; a changed pattern or time zone moves the next tick."""
    _check_scope(state, experiment_id, caller)
    schedule = state.store.schedules.replace(experiment_id, schedule_id, body)
    return checker.checked_schedule(
        schedule, state.store.experiments.get(experiment_id)
    )


@router.patch("/{schedule_id}")
def update_schedule(
    experiment_id: UUID,
    schedule_id: UUID,
    body: ScheduleUpdate,
    state: State,
    caller: Editor,
    checker: Checker,
) -> ScheduleChecked:
    """Change the fields given (same rules as PUT)."""
    _check_scope(state, experiment_id, caller)
    schedule = state.store.schedules.update(experiment_id, schedule_id, body)
    return checker.checked_schedule(
        schedule, state.store.experiments.get(experiment_id)
    )


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(
    experiment_id: UUID, schedule_id: UUID, state: State, caller: Editor
) -> Response:
    """Soft delete: the schedule never fires again; its trials stay readable."""
    _check_scope(state, experiment_id, caller)
    state.store.schedules.delete(experiment_id, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
