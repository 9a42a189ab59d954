"""/health and /info."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kallisti import __version__
from kallisti.api.deps import Anyone, State, Viewer

router = APIRouter(tags=["service"])


@router.get("/health")
def health(state: State, _: Anyone) -> JSONResponse:
    """`{"status": "up"}` while the database answers; 503 otherwise."""
    try:
        with state.store.read() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:
        return JSONResponse(status_code=503, content={"status": "down"})
    return JSONResponse(content={"status": "up"})


@router.get("/info")
def info(state: State, _: Viewer) -> dict[str, Any]:
    return {"version": __version__, "platform": state.settings.info_platform}
