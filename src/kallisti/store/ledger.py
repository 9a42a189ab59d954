"""The fault ledger's rows: what each changing action changed, and how to undo it.

Invariants:
- an entry is committed before its action acts (the action waits for it), so a
  worker lost mid-action leaves the entry for its successor;
- a row holds the target's identity and the undo spec, never a credential;
- a trial's `residual_faults` column lists the faults left in place when it
  ended, written before it closes; a finished trial is immutable, so a later
  revert shows in the ledger's states (and the audit log), not there.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from kallisti.domain.errors import NotFound
from kallisti.domain.faults import FaultEntry, FaultState, residual_fault
from kallisti.store.audit import AuditChange, audit_changes
from kallisti.store.base import Repository
from kallisti.store.tables import fault_ledger, trials

__all__ = ["LedgerRepository", "residual_list"]


def _entry(row: Any) -> FaultEntry:
    return FaultEntry(
        id=row.id,
        trial_id=row.trial_id,
        step_name=row.step_name,
        target=row.target,
        change=row.change,
        undo=dict(row.undo),
        state=FaultState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class LedgerRepository(Repository):
    """Ledger entries of trials, and the `residual_faults` they leave."""

    def record(
        self,
        trial_id: str,
        *,
        step_name: str,
        target: str,
        change: str,
        undo: Mapping[str, Any],
    ) -> str:
        """Write an entry in state `recorded`, committed; returns its id."""
        now = self._clock()
        entry_id = str(uuid.uuid4())
        with self._write() as conn:
            conn.execute(
                fault_ledger.insert().values(
                    id=entry_id,
                    trial_id=trial_id,
                    step_name=step_name[:2000],
                    target=target,
                    change=change,
                    undo=dict(undo),
                    state=FaultState.RECORDED.value,
                    created_at=now,
                    updated_at=now,
                )
            )
        return entry_id

    def entries(self, trial_id: str) -> list[FaultEntry]:
        """A trial's entries, oldest first."""
        with self._read() as conn:
            return _entries(conn, trial_id)

    def set_states(
        self,
        trial_id: str,
        states: Mapping[str, FaultState],
        *,
        residual: Sequence[Mapping[str, Any]] | None = None,
        audit: Sequence[AuditChange] = (),
    ) -> None:
        """Move entries to new states; with `residual`, also rewrite the trial's
        `residual_faults` (empty: none left). Audited changes land in the same
        transaction."""
        now = self._clock()
        with self._write() as conn:
            for entry_id, state in states.items():
                conn.execute(
                    fault_ledger.update()
                    .where(
                        fault_ledger.c.id == entry_id,
                        fault_ledger.c.trial_id == trial_id,
                    )
                    .values(state=state.value, updated_at=now)
                )
            if residual is not None:
                conn.execute(
                    trials.update()
                    .where(trials.c.id == trial_id)
                    .values(residual_faults=list(residual) or None)
                )
            audit_changes(conn, now, audit)

    def trial_row(self, trial_id: str) -> Any:
        """What a revert needs of a trial: its steps and parameters."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(
                    trials.c.id,
                    trials.c.status,
                    trials.c.experiment_snapshot,
                    trials.c.parameters,
                ).where(trials.c.id == trial_id)
            ).first()
        if row is None:
            raise NotFound("Trial", trial_id)
        return row


def _entries(conn: Connection, trial_id: str) -> list[FaultEntry]:
    rows = conn.execute(
        sa.select(fault_ledger)
        .where(fault_ledger.c.trial_id == trial_id)
        .order_by(fault_ledger.c.created_at, fault_ledger.c.id)
    )
    return [_entry(row) for row in rows]


def residual_list(entries: Sequence[FaultEntry]) -> list[dict[str, Any]]:
    """The `residual_faults` of a trial whose entries are `entries`."""
    return [residual_fault(e) for e in entries if e.state is FaultState.RESIDUAL]
