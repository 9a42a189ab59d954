"""/health and /info."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kallisti import __version__
from kallisti.api.deps import Anyone, State, Viewer

router = APIRouter(tags=["service"])


@router.get("/health")
def health(state: State, _: Anyone) -> JSONResponse:
    """`{"status": "up"}` while the database answers and the workers claim,
    heartbeat and close trials; 503 with `down` (no database) or `degraded`
    (and what is wrong) otherwise."""
    settings = state.settings
    starting = time.monotonic() - state.started < settings.lease_seconds
    try:
        with state.store.read() as conn:
            conn.execute(sa.text("SELECT 1"))
        problems = state.store.workers.problems(
            stale_after=timedelta(seconds=settings.lease_seconds),
            expected=None if starting else state.local_worker_id,
        )
    except Exception:
        return JSONResponse(status_code=503, content={"status": "down"})
    if problems:
        return JSONResponse(
            status_code=503,
            content={
                "status": "degraded",
                "problems": [
                    {"worker": p.worker_id, "problem": p.problem} for p in problems
                ],
            },
        )
    return JSONResponse(content={"status": "up"})


@router.get("/info")
def info(state: State, _: Viewer) -> dict[str, Any]:
    return {"version": __version__, "platform": state.settings.info_platform}
