"""/trial: start trials, read them, ask them to stop. Never edited or deleted."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import Operator, PageQuery, ServiceState, State, Viewer
from kallisti.api.masking import masked_trial, masked_trial_json, masked_trials_json
from kallisti.api.pagination import list_json_response
from kallisti.api.responses import model_response
from kallisti.api.times import UtcTime
from kallisti.auth import Principal
from kallisti.domain.models import TrialCreate, TrialPublic, TrialStatus
from kallisti.store import Page, TrialFilter
from kallisti.store.base import collection_paused

router = APIRouter(prefix="/trial", tags=["trial"])


# A page of the unfiltered list is read like one trial (`ServiceState.read`):
# its trials are picked on an index and counted without reading them, about
# 3.5 ms for 100 trials at offset 10,000 on SQLite on a slow machine. A
# filtered page reads and orders every trial it matches (a status with
# 10,000: 28 ms and more), and longer lists take longer still: they are read
# on a thread, off the event loop that runs the trials' steps. The test
# mirrors the store's fast paths (`TrialRepository.list_plain`).
_LOOP_PAGE_LIMIT = 100
_LOOP_PAGE_END = 50_000


@router.get("", response_model=list[TrialPublic])
async def list_trials(
    request: Request,
    state: State,
    page: PageQuery,
    caller: Viewer,
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
        scope=state.scope_of(caller),
    )
    if _is_quick(where, page):
        listed = await state.read(_listed_json, state, where, page)
    else:
        listed = await run_in_threadpool(_listed_json, state, where, page)
    content, returned, total = listed
    return list_json_response(request, content, returned, total, page)


def _is_quick(where: TrialFilter, page: Page) -> bool:
    return (
        where == TrialFilter()
        and page.limit is not None
        and page.limit <= _LOOP_PAGE_LIMIT
        and page.offset + page.limit <= _LOOP_PAGE_END
    )


def _listed_json(
    state: ServiceState, where: TrialFilter, page: Page
) -> tuple[bytes, int, int]:
    """The page as a JSON array, how many trials it holds, and their total."""
    # Plain rows written as JSON in one call: a list of 10,000 trials is no
    # longer 10,000 models validated, copied and serialised one by one. No
    # cycle collection until the JSON is written: one would walk all of them.
    with collection_paused():
        items, total = state.store.trials.list_plain(where, page)
        returned = len(items)
        content = masked_trials_json(items)
        del items
    return content, returned, total


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TrialPublic)
async def create_trial(body: TrialCreate, state: State, caller: Operator) -> Response:
    """Start a trial: it is recorded `Scheduled` and a worker picks it up."""
    request = body
    if state.trial_rate_limit is not None or state.trial_creation_hooks:
        request = await run_in_threadpool(_checked_request, state, body, caller)
    trial = await state.writes.write(
        "create",
        lambda conn: state.store.trials.create(
            request,
            initiated_by=caller.user_id,
            initiated_from=request.initiated_from or "api",
            scope=state.scope_of(caller),
            conn=conn,
        ),
    )
    state.notify_trial_created()
    return model_response(masked_trial(trial), status.HTTP_201_CREATED)


def _checked_request(
    state: ServiceState, body: TrialCreate, caller: Principal
) -> TrialCreate:
    """The request once the rate limit admits it and the creation hooks (the
    operator's code, which may block) have seen it."""
    if state.trial_rate_limit is not None:
        state.trial_rate_limit.check(state.store.limits, caller.user_id)
    return state.trial_creation_hooks.apply(body)


@router.get("/{trial_id}", response_model=TrialPublic)
async def read_trial(trial_id: UUID, state: State, caller: Viewer) -> Response:
    """A trial with its record so far; also a trial of a deleted experiment."""
    trial = await state.read(
        state.store.trials.get_plain, trial_id, state.scope_of(caller)
    )
    return Response(masked_trial_json(trial), media_type="application/json")


@router.put("/{trial_id}/stop", response_model=TrialPublic)
async def stop_trial(trial_id: UUID, state: State, caller: Operator) -> Response:
    """Ask a `Scheduled` or `In Progress` trial to stop: the running step is
    interrupted, post steps run, and it ends `Stopped`. 403 once it has ended."""
    trial = await run_in_threadpool(
        state.store.trials.request_stop,
        trial_id,
        requested_by=caller.user_id,
        scope=state.scope_of(caller),
    )
    state.notify_stop_requested()
    return model_response(masked_trial(trial))
