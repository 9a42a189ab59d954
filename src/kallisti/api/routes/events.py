"""/trial/{id}/events: a trial's progress pushed as server-sent events.

The stream learns of changes from the database, never from a worker object in
this process: the worker may run on another machine. Each event carries the
whole trial as `GET /trial/{id}` answers it, so a client that misses events
(or reconnects) is never behind; the stream ends with an `end` event once the
trial is terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import ServiceState, State, Viewer
from kallisti.api.masking import masked_trial
from kallisti.domain.errors import NotFound
from kallisti.domain.models import TrialPublic
from kallisti.store.scoping import LabelScope

router = APIRouter(prefix="/trial", tags=["trial"])

RECONNECT_MILLISECONDS = 3000
KEEP_ALIVE_SECONDS = 15.0


def _event(name: str, data: str, event_id: int | None = None) -> bytes:
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return (head + f"data: {data}\n\n").encode()


async def _trial(
    state: ServiceState, trial_id: UUID, scope: LabelScope | None
) -> TrialPublic:
    return masked_trial(
        await run_in_threadpool(state.store.trials.get, trial_id, scope)
    )


async def _changes(
    state: ServiceState, first: TrialPublic, scope: LabelScope | None
) -> AsyncIterator[bytes]:
    yield f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()
    trial, sent, number = first, "", 0
    quiet = 0.0
    interval = state.settings.event_poll_seconds
    while True:
        data = trial.model_dump_json()
        if data != sent:
            number += 1
            yield _event("trial", data, number)
            sent, quiet = data, 0.0
        elif quiet >= KEEP_ALIVE_SECONDS:
            yield b": keep-alive\n\n"  # proxies close connections that stay silent
            quiet = 0.0
        if trial.status.is_terminal:
            yield _event("end", "{}")
            return
        await asyncio.sleep(interval)
        quiet += interval
        if state.closing.is_set():
            return  # the server is stopping; the client reconnects elsewhere
        try:
            trial = await _trial(state, first.id, scope)
        except NotFound:
            # Its experiment left the caller's scope: nothing more to show.
            yield _event("end", "{}")
            return


@router.get(
    "/{trial_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`trial` events (the whole trial) as it changes, "
            "then one `end` event once it is terminal.",
        }
    },
)
async def trial_events(
    trial_id: UUID, state: State, caller: Viewer
) -> StreamingResponse:
    """Follow a trial live: a `trial` event at once and after every change
    (status, each record line), then `end`. 404 for an unknown trial."""
    scope = state.scope_of(caller)
    first = await _trial(state, trial_id, scope)
    return StreamingResponse(
        _changes(state, first, scope),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
