"""What an action may ask of the engine while it runs, through `step_context`.

An action that declares a keyword-only ``step_context: StepContext`` parameter
gets one; step data can never supply it.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kallisti.credentials.base import Credential

__all__ = [
    "FAULT_CHECK_HOOK",
    "FAULT_REVERT_HOOK",
    "STEP_CONTEXT_PARAMETER",
    "TARGETS_HOOK",
    "Fault",
    "StepContext",
    "TargetsOf",
    "is_read_only",
    "read_only",
    "target_path",
]

STEP_CONTEXT_PARAMETER = "step_context"
_READ_ONLY = "__kallisti_read_only__"
F = TypeVar("F", bound=Callable[..., Any])


def read_only(function: F) -> F:
    """Mark an action that changes nothing (a probe): a dry run runs it for real,
    where it skips other actions that take no `dry_run` argument."""
    setattr(function, _READ_ONLY, True)
    return function


def is_read_only(function: Callable[..., Any]) -> bool:
    return bool(getattr(function, _READ_ONLY, False))


TARGETS_HOOK = "targets"
TargetsOf = Callable[[str, Mapping[str, Any]], list[str]]
"""A module's `targets(action, where)`: what a changing action touches.

A module declares the targets of its changing actions with a module-level
function of this name (as `default_credentials`): given the action's name and
its rendered `where`, it returns target paths built with `target_path`, e.g.
`k8s/<cluster>/<namespace>/selector:app=web`. Two trials whose targets overlap
(one path is, or lies under, the other) never run at the same time. A module
without the hook touches nothing the lease needs to know (`cm`)."""


FAULT_CHECK_HOOK = "fault_in_place"
FAULT_REVERT_HOOK = "revert_fault"
"""A module whose actions record faults (`StepContext.record_fault`) defines
two module-level functions, both blocking:

- `fault_in_place(undo, where, step_context) -> bool`: whether the fault an
  entry describes is still in place on the target;
- `revert_fault(undo, where, step_context) -> str`: undo it, and say what was
  done (raise `StepFailed` when it cannot).

`undo` is the `Fault.undo` the action recorded; `where` is the recording
step's rendered `where`, its `credentials` built, so the hook reaches the
target as the step did."""


@dataclass(frozen=True)
class Fault:
    """What a changing action is about to leave behind, and how to undo it.

    `undo` is the module's own JSON spec (kind, names, previous values); it
    must hold no credential. `how` says in words what undoing it means."""

    target: str
    change: str
    how: str
    undo: dict[str, object] = field(default_factory=dict)


def target_path(*parts: object) -> str:
    """A target path from its parts; `/` inside a part cannot split it."""
    return "/".join(str(part).replace("/", "%2F") for part in parts)


class StepContext:
    """Logging into the step's record, secrets to hide, credentials to build."""

    def __init__(
        self,
        *,
        log: Callable[[str], None],
        add_secret: Callable[[str], None],
        build_credential: Callable[[Mapping[str, Any]], Credential],
        tls: ssl.SSLContext,
        dry_run: bool = False,
        trial_id: uuid.UUID | None = None,
        deadline: float | None = None,
        record_fault: Callable[[Fault], None] | None = None,
    ) -> None:
        self._log = log
        self._add_secret = add_secret
        self._build_credential = build_credential
        self.tls = tls
        """The worker's shared TLS context (system trust store, SSL_CERT_FILE
        honoured). Building one costs ~50 ms of CPU; per step it would stall
        every trial on the worker's event loop."""
        self.dry_run = dry_run
        self.trial_id = trial_id
        """The trial the step belongs to (names an assumed AWS role's session)."""
        self.deadline = deadline
        """`time.monotonic()` by which the step ends (None: no bound)."""
        self._record_fault = record_fault

    def remaining_seconds(self, default: float) -> float:
        """Seconds left to the step's end (and a second of grace, so that the
        step's own time-out is what the record reports), at most `default`:
        pass it as a blocking call's own time-out, so a call the step abandons
        does not keep its thread for long."""
        if self.deadline is None:
            return default
        return max(min(default, self.deadline - time.monotonic() + 1.0), 0.1)

    def log(self, message: str) -> None:
        """Add an INFO line to the step's log (secrets are masked)."""
        self._log(message)

    def record_fault(self, fault: Fault) -> None:
        """Write `fault` into the trial's fault ledger before acting on it.

        Blocks until the entry is committed; call it from a blocking action
        (its driver thread), after the dry-run check and before the change.
        Raises when the entry cannot be written: then the action must not act.
        A run without a ledger (a test's engine) records nothing."""
        if self._record_fault is not None and not self.dry_run:
            self._record_fault(fault)

    def add_secret(self, value: str) -> None:
        """Mask `value` wherever it would appear in the record (a fetched token)."""
        self._add_secret(value)

    def build_credential(self, spec: Mapping[str, Any]) -> Credential:
        """Build a nested credential (e.g. an OAuth2 password grant's); its secrets
        are masked in the record. Raises `CredentialError`."""
        return self._build_credential(spec)
