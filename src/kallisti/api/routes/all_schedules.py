"""/schedule: every schedule the caller may see, in one list (an addition to
Kallisti's per-experiment `/experiment/{id}/schedule`)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from kallisti.api.deps import PageQuery, State, Viewer
from kallisti.api.pagination import list_response
from kallisti.domain.schedules import SchedulePublic

__all__ = ["router"]

router = APIRouter(prefix="/schedule", tags=["schedule"])

_LIST = TypeAdapter(list[SchedulePublic])


@router.get("", response_model=list[SchedulePublic])
def list_all_schedules(
    request: Request,
    state: State,
    page: PageQuery,
    caller: Viewer,
    experiment: Annotated[
        UUID | None, Query(description="Only this experiment's.")
    ] = None,
    active: Annotated[
        bool | None,
        Query(
            description="true: only schedules that will fire again; false: only "
            "those that never will (their count is used up)."
        ),
    ] = None,
) -> Response:
    """Live schedules of live experiments (with a scope label, only those of
    experiments in the caller's scope), oldest first, each with the trials it
    started."""
    items, total = state.store.schedules.list_all(
        page,
        experiment_id=experiment,
        active=active,
        scope=state.scope_of(caller),
    )
    return list_response(request, _LIST, items, total, page)
