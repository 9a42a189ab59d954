"""The fault ledger beside the engine: checking recorded faults against their
targets, and undoing those left behind.

An action records a `Fault` through its step context before it acts (the
engine writes it to the store). After the post steps the engine asks
`FaultUndoer.settle` which recorded faults are still in place: those fail the
trial and are listed in its `residual_faults`. `revert_trial` (the API's
`POST /trial/{id}/revert`, `kallisti revert`) and the recovery of a lost
worker's trial undo what is left.

Access to a target is rebuilt from the recording step itself (its `where`,
rendered with the trial's parameters, its credentials built as the step built
them), so the ledger never holds a credential.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.errors import Refused, StepFailed
from kallisti.domain.faults import (
    FaultEntry,
    FaultState,
    RevertOutcome,
    RevertPublic,
    residual_fault,
)
from kallisti.domain.models import Step, TrialStatus, stored_experiment
from kallisti.domain.templating import Templates
from kallisti.modules.context import (
    FAULT_CHECK_HOOK,
    FAULT_REVERT_HOOK,
    StepContext,
)
from kallisti.modules.registry import ModuleRegistry
from kallisti.store.audit import AuditChange

if TYPE_CHECKING:
    from kallisti.settings import Settings
    from kallisti.store import Store

__all__ = ["FaultUndoer", "Settled", "TrialSteps", "revert_trial"]

logger = logging.getLogger(__name__)

_HOOK_SECONDS = 60.0


@dataclass(frozen=True)
class TrialSteps:
    """A trial's steps by section and its parameters: what rebuilds a step's
    access to its target."""

    sections: Mapping[str, Sequence[Step]]
    parameters: Mapping[str, Any]

    @classmethod
    def from_snapshot(
        cls, snapshot: Mapping[str, Any], parameters: Mapping[str, Any]
    ) -> TrialSteps:
        experiment = stored_experiment(snapshot)
        return cls(
            {
                "pre_steps": experiment.pre_steps,
                "steps": experiment.steps,
                "post_steps": experiment.post_steps,
            },
            {**experiment.parameters, **parameters},
        )

    def step(self, undo: Mapping[str, Any]) -> Step:
        try:
            return self.sections[str(undo["section"])][int(undo["index"])]
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise StepFailed(
                "The ledger entry names no step of its trial; undo it by hand."
            ) from err


@dataclass
class Settled:
    """Where a trial's ledger stands after a check (and maybe a revert)."""

    outcomes: list[RevertOutcome]
    states: dict[str, FaultState]

    @property
    def residual(self) -> list[dict[str, Any]]:
        """The faults still in place, as `residual_faults` lists them."""
        return [
            residual_fault(o.entry, error=o.error)
            for o in self.outcomes
            if o.outcome in ("in_place", "failed")
        ]


class FaultUndoer:
    """Checks and undoes ledger entries with the modules' hooks."""

    def __init__(
        self,
        modules: ModuleRegistry,
        credentials: CredentialRegistry,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._modules = modules
        self._credentials = credentials
        self._tls = tls or ssl.create_default_context()

    @classmethod
    def from_settings(cls, settings: Settings) -> FaultUndoer:
        """The modules and credential types the settings select, as the
        engine's (for a revert outside a worker: the API, the CLI)."""
        credentials = CredentialRegistry.discover(
            CredentialContext(
                service_account_token_path=settings.k8s_service_account_token_path,
                environ=os.environ,
            ),
            settings.credential_map,
        )
        return cls(ModuleRegistry.discover(settings.module_map), credentials)

    def _call(self, hook_name: str, entry: FaultEntry, steps: TrialSteps) -> Any:
        step = steps.step(entry.undo)
        action = self._modules.resolve(step.do)
        hook = getattr(action.module, hook_name, None)
        if not callable(hook):
            raise StepFailed(
                f"Module {entry.module!r} cannot {hook_name.replace('_', ' ')}; "
                f"undo it by hand: {entry.how}."
            )
        where = dict(Templates(steps.parameters).render(step.where))
        spec = where.pop("credentials", None) or action.default_credentials(where)
        if spec is not None and action.accepts("credentials"):
            where["credentials"] = self._credentials.build(spec)
        context = StepContext(
            log=lambda line: logger.info(
                line, extra={"trial_id": entry.trial_id, "action": "ledger"}
            ),
            add_secret=lambda _value: None,
            build_credential=self._credentials.build,
            tls=self._tls,
            deadline=time.monotonic() + _HOOK_SECONDS,
        )
        return hook(entry.undo, where, context)

    def in_place(self, entry: FaultEntry, steps: TrialSteps) -> bool:
        """Whether `entry`'s fault is still in place (blocking). Raises when the
        target cannot be read: an unknown state counts as in place."""
        return bool(self._call(FAULT_CHECK_HOOK, entry, steps))

    def revert(self, entry: FaultEntry, steps: TrialSteps) -> str:
        """Undo `entry`'s fault (blocking); returns what was done, raises
        `StepFailed` when it cannot."""
        return str(self._call(FAULT_REVERT_HOOK, entry, steps))

    def settle(
        self, entries: Sequence[FaultEntry], steps: TrialSteps, *, revert: bool
    ) -> Settled:
        """Check each open entry (recorded or residual) against its target;
        with `revert`, undo those still in place (blocking).

        Outcomes: `already_clear`, `in_place` (not reverted), `reverted`,
        `failed` (the revert or the check failed; `error` says why)."""
        outcomes: list[RevertOutcome] = []
        states: dict[str, FaultState] = {}
        for entry in entries:
            if entry.state not in (FaultState.RECORDED, FaultState.RESIDUAL):
                continue
            check_error: str | None = None
            try:
                present = self.in_place(entry, steps)
            except Exception as err:  # an unknown state counts as in place
                present, check_error = True, _one_line(err)
            if not present:
                outcomes.append(RevertOutcome(entry, "already_clear"))
                states[entry.id] = FaultState.CLEARED
                continue
            if not revert:
                outcomes.append(RevertOutcome(entry, "in_place", check_error))
                states[entry.id] = FaultState.RESIDUAL
                continue
            try:
                self.revert(entry, steps)
            except Exception as err:
                outcomes.append(RevertOutcome(entry, "failed", _one_line(err)))
                states[entry.id] = FaultState.RESIDUAL
            else:
                outcomes.append(RevertOutcome(entry, "reverted"))
                states[entry.id] = FaultState.REVERTED
        return Settled(outcomes, states)


def revert_trial(store: Store, undoer: FaultUndoer, trial_id: str) -> RevertPublic:
    """Undo what a finished trial left in place and record it (ledger, trial's
    `residual_faults`, audit log). Blocking; run it off the event loop.

    Raises `NotFound` for an unknown trial and `Refused` while it still runs.
    A trial with nothing left answers with empty lists.
    """
    row = store.ledger.trial_row(trial_id)
    if not TrialStatus(row.status).is_terminal:
        raise Refused(
            f"Trial {trial_id} is still {row.status}: its own post steps and "
            "ledger check come first; revert it once it has ended."
        )
    entries = store.ledger.entries(trial_id)
    steps = TrialSteps.from_snapshot(row.experiment_snapshot, row.parameters)
    settled = undoer.settle(entries, steps, revert=True)
    answer = RevertPublic(trial=trial_id)
    for outcome in settled.outcomes:
        listed = outcome.public()
        if outcome.outcome == "reverted":
            answer.reverted.append(listed)
        elif outcome.outcome == "already_clear":
            answer.already_clear.append(listed)
        else:
            answer.failed.append(listed)
    answer.residual_faults = settled.residual
    if settled.outcomes:
        detail = {
            "reverted": str(len(answer.reverted)),
            "already_clear": str(len(answer.already_clear)),
            "failed": str(len(answer.failed)),
        }
        # The trial's own `residual_faults` stay as it ended (a finished trial
        # is immutable); the ledger and the audit log say what a revert did.
        store.ledger.set_states(
            trial_id,
            settled.states,
            audit=[AuditChange("trial.revert", "trial", trial_id, detail=detail)],
        )
    return answer


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:500] if lines else type(err).__name__
