"""/halt/events: the halt switch pushed as server-sent events.

A console shows a halt made elsewhere (another user, `kallisti halt` on
another machine) without asking every second: the stream reads the switch
from the database, as the trial events do, so it works whichever process
flipped it. Each `halt` event carries the whole switch as `GET /halt`
answers it. A stream ends after `STREAM_SECONDS` (the client reconnects
after the `retry` delay), and at once when the server starts shutting down
(uvicorn waits for every open response before it stops).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from kallisti.api.deps import ServiceState, State, Viewer
from kallisti.api.routes.events import KEEP_ALIVE_SECONDS

__all__ = ["STREAM_SECONDS", "router"]

router = APIRouter(tags=["safety"])

STREAM_SECONDS = 60.0
RECONNECT_MILLISECONDS = 1000


async def _changes(state: ServiceState) -> AsyncIterator[bytes]:
    yield f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()
    interval = state.settings.event_poll_seconds
    sent, number, quiet, lived = "", 0, 0.0, 0.0
    while lived < STREAM_SECONDS and not state.closing.is_set():
        data = (await state.read(state.store.safety.halt_state)).model_dump_json()
        if data != sent:
            number += 1
            yield f"event: halt\nid: {number}\ndata: {data}\n\n".encode()
            sent, quiet = data, 0.0
        elif quiet >= KEEP_ALIVE_SECONDS:
            yield b": keep-alive\n\n"  # proxies close connections that stay silent
            quiet = 0.0
        await asyncio.sleep(interval)
        quiet += interval
        lived += interval


@router.get(
    "/halt/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`halt` events (the switch as `GET /halt` answers "
            "it): one at once, then one after every change.",
        }
    },
)
async def halt_events(state: State, _: Viewer) -> StreamingResponse:
    """Follow the halt switch live: a `halt` event at once and after every
    halt or resume, wherever it was made. The stream ends after a minute;
    reconnect (EventSource does)."""
    return StreamingResponse(
        _changes(state),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
