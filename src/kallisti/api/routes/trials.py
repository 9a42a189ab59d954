"""/trial: start trials, read them, ask them to stop. Never edited or deleted."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import TypeAdapter

from kallisti.api.deps import Operator, PageQuery, State, Viewer
from kallisti.api.masking import masked_trial
from kallisti.api.pagination import list_response
from kallisti.api.times import UtcTime
from kallisti.domain.models import TrialCreate, TrialPublic, TrialStatus
from kallisti.store import TrialFilter

router = APIRouter(prefix="/trial", tags=["trial"])

_LIST = TypeAdapter(list[TrialPublic])


@router.get("", response_model=list[TrialPublic])
def list_trials(
    request: Request,
    state: State,
    page: PageQuery,
    _: Viewer,
    experiment: Annotated[
        UUID | None, Query(description="Only this experiment's.")
    ] = None,
    status_: Annotated[
        TrialStatus | None,
        Query(alias="status", description="Only trials in this status."),
    ] = None,
    schedule: Annotated[UUID | None, Query(description="Only this schedule's.")] = None,
    created_after: Annotated[UtcTime | None, Query()] = None,
    created_before: Annotated[UtcTime | None, Query()] = None,
    include_deleted: Annotated[
        bool, Query(description="Include trials of deleted experiments.")
    ] = False,
) -> Response:
    """Trials, oldest first; filter by experiment, status, schedule and time."""
    where = TrialFilter(
        experiment_id=experiment,
        status=status_,
        schedule_id=schedule,
        created_after=created_after,
        created_before=created_before,
        include_deleted_experiments=include_deleted,
    )
    items, total = state.store.trials.list(where, page)
    return list_response(request, _LIST, [masked_trial(t) for t in items], total, page)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_trial(body: TrialCreate, state: State, caller: Operator) -> TrialPublic:
    """Start a trial: it is recorded `Scheduled` and a worker picks it up."""
    request = state.trial_creation_hooks.apply(body)
    trial = state.store.trials.create(
        request, initiated_by=caller.user_id, initiated_from="api"
    )
    state.notify_trial_created()
    return masked_trial(trial)


@router.get("/{trial_id}")
def read_trial(trial_id: UUID, state: State, _: Viewer) -> TrialPublic:
    """A trial with its record so far; also a trial of a deleted experiment."""
    return masked_trial(state.store.trials.get(trial_id))


@router.put("/{trial_id}/stop")
def stop_trial(trial_id: UUID, state: State, caller: Operator) -> TrialPublic:
    """Ask a `Scheduled` or `In Progress` trial to stop: the running step is
    interrupted, post steps run, and it ends `Stopped`. 403 once it has ended."""
    trial = state.store.trials.request_stop(trial_id, requested_by=caller.user_id)
    state.notify_stop_requested()
    return masked_trial(trial)
