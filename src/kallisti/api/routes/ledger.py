"""/trial/{id}/revert: undo the faults a finished trial left in place."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from kallisti.api.deps import Operator, ServiceState, State
from kallisti.auth import Principal
from kallisti.domain.faults import RevertPublic
from kallisti.safety.ledger import FaultUndoer, revert_trial

router = APIRouter(prefix="/trial", tags=["trial"])


@router.post("/{trial_id}/revert", response_model=RevertPublic)
async def revert(trial_id: UUID, state: State, caller: Operator) -> RevertPublic:
    """Undo what the trial's fault ledger says is still in place (a network
    policy, an Istio fault, a scaled deployment, a cordoned node, a stopped
    instance or app), record it in the ledger and the audit log, and answer what
    was reverted and what failed. Nothing left: empty lists. 404 for an unknown
    trial (or one outside the caller's scope), 409 while it still runs."""
    return await run_in_threadpool(_revert, state, trial_id, caller)


def _revert(state: ServiceState, trial_id: UUID, caller: Principal) -> RevertPublic:
    # Scope first: a caller must not learn of, nor touch, a trial it cannot see.
    state.store.trials.get(trial_id, state.scope_of(caller))
    undoer = getattr(state, "fault_undoer", None)
    if undoer is None:
        undoer = FaultUndoer.from_settings(state.settings)
        state.fault_undoer = undoer  # type: ignore[attr-defined]
    return revert_trial(state.store, undoer, str(trial_id))
