"""/halt and /blackout: the switches that keep chaos from starting."""

from __future__ import annotations

from fastapi import APIRouter

from kallisti.api.deps import Admin, State, Viewer
from kallisti.domain.safety import BlackoutSettings, HaltPublic, HaltRequest

router = APIRouter(tags=["safety"])


@router.get("/halt")
def read_halt(state: State, _: Viewer) -> HaltPublic:
    """Whether chaos is halted, why, by whom and since when."""
    return state.store.safety.halt_state()


@router.put("/halt")
def halt(body: HaltRequest, state: State, caller: Admin) -> HaltPublic:
    """Stop every Scheduled and In Progress trial (their post steps run) and
    refuse new trials and schedule firings with 409 until the halt is lifted."""
    switch = state.store.safety.halt(body.reason, by=caller.user_id)
    state.notify_stop_requested()
    return switch


@router.delete("/halt")
def resume(state: State, _: Admin) -> HaltPublic:
    """Lift the halt: trials may start again."""
    return state.store.safety.resume()


@router.get("/blackout")
def read_blackout(state: State, _: Viewer) -> BlackoutSettings:
    """The stored blackout windows (KALLISTI_BLACKOUT_WINDOWS apply besides)."""
    return BlackoutSettings(windows=state.store.safety.blackout_windows())


@router.put("/blackout")
def replace_blackout(
    body: BlackoutSettings, state: State, _: Admin
) -> BlackoutSettings:
    """Replace the blackout windows: while one is open no trial starts."""
    return BlackoutSettings(
        windows=state.store.safety.replace_blackout_windows(body.windows)
    )
