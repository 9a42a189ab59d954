"""The fault ledger's rules, with no I/O: what an entry is and how it reads.

A changing action that leaves a fault behind (a network policy, an Istio
fault, a scaled deployment, a cordoned node, a stopped instance or app)
records, before it acts, what it will change and how to undo it. The entry
holds the target's identity and the undo spec only, never a credential: a
revert rebuilds access from the trial's own step, as the step did.

States: `recorded` (written before the action ran), `cleared` (gone after the
post steps), `residual` (still in place after them), `reverted` (undone by a
revert or by the worker that recovered the trial).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "FaultEntry",
    "FaultState",
    "RevertOutcome",
    "RevertPublic",
    "residual_fault",
]


class FaultState(StrEnum):
    RECORDED = "recorded"
    CLEARED = "cleared"
    RESIDUAL = "residual"
    REVERTED = "reverted"


@dataclass(frozen=True)
class FaultEntry:
    """One row of the ledger.

    `undo` names the module that can check and undo it (`module`), the step
    whose access arguments reach the target (`section`, `index`), a
    human-readable `how`, and the module's own spec (kind, names, previous
    values)."""

    id: str
    trial_id: str
    step_name: str
    target: str
    change: str
    undo: dict[str, Any]
    state: FaultState
    created_at: datetime
    updated_at: datetime

    @property
    def module(self) -> str:
        return str(self.undo.get("module", ""))

    @property
    def how(self) -> str:
        return str(self.undo.get("how", "revert the change by hand"))


def residual_fault(entry: FaultEntry, *, error: str | None = None) -> dict[str, Any]:
    """A fault left in place, as the trial's `residual_faults` lists it."""
    listed: dict[str, Any] = {
        "id": entry.id,
        "what": entry.change,
        "where": entry.target,
        "since": entry.created_at.isoformat(),
        "step": entry.step_name,
        "undo": entry.how,
    }
    if error:
        listed["revert_error"] = error
    return listed


@dataclass(frozen=True)
class RevertOutcome:
    """What one revert did to one ledger entry."""

    entry: FaultEntry
    outcome: str
    """`reverted`, `already_clear` (no longer in place) or `failed`."""
    error: str | None = None

    def public(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": self.entry.id,
            "what": self.entry.change,
            "where": self.entry.target,
            "since": self.entry.created_at.isoformat(),
            "step": self.entry.step_name,
            "outcome": self.outcome,
        }
        if self.error is not None:
            answer["error"] = self.error
        return answer


class RevertPublic(BaseModel):
    """The answer of `POST /trial/{id}/revert` and `kallisti revert`."""

    trial: str
    reverted: list[dict[str, Any]] = Field(
        default_factory=list, description="Faults undone now."
    )
    already_clear: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Ledger entries whose fault was no longer in place.",
    )
    failed: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Faults still in place: the revert failed (see `error`).",
    )
    residual_faults: list[dict[str, Any]] = Field(
        default_factory=list, description="What is left on the trial afterwards."
    )
