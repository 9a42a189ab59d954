"""Every error Kallisti raises on purpose carries the message a user should read.

The hierarchy::

    KallistiError
    ├── NotFound                 an id names nothing (API: 404)
    ├── Conflict                 valid request, but the state forbids it (API: 403)
    │   └── TrialNotStoppable    stop asked of a trial that has ended
    ├── Refused                  a safety rule refuses new chaos now (API: 409)
    ├── InvalidInput             a value breaks a rule beyond the schema (API: 400)
    ├── StepError                a step could not run or did not hold; ends the step
    │   ├── UnknownModuleName    `do` names a namespace no module serves
    │   ├── CouldNotFindFunction `do` names an action the module does not have
    │   ├── InvalidArguments     `where` does not fit the action's signature
    │   ├── CredentialError      a credential could not be built or read
    │   ├── StepFailed           the action ran and failed (driver errors, HTTP status)
    │   ├── ExpectationFailed    the action ran but an `expect` entry did not hold
    │   └── StepTimedOut         the action ran past its time-out
    └── MissingParameterValueError  templates name parameters that have no value

Each class's docstring says when it is raised.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "Conflict",
    "CouldNotFindFunction",
    "CredentialError",
    "ExpectationFailed",
    "InvalidArguments",
    "InvalidInput",
    "KallistiError",
    "MissingParameterValueError",
    "NotFound",
    "Refused",
    "StepError",
    "StepFailed",
    "StepTimedOut",
    "TrialNotStoppable",
    "UnknownModuleName",
]


class KallistiError(Exception):
    """Root of every error Kallisti raises on purpose; `str(err)` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.type_name = type(self).__name__
        """The type a step log names (a driver's own, for a wrapped driver error)."""


class NotFound(KallistiError):
    """Raised when an id names no object (or a soft-deleted one)."""

    def __init__(self, kind: str, object_id: object) -> None:
        super().__init__(f"{kind} {object_id} was not found.")
        self.kind = kind


class Conflict(KallistiError):
    """Raised when a valid request cannot be carried out in the object's state.

    `client_message` is the text Kallisti clients read (the API's `message`);
    `message` may say more.
    """

    def __init__(self, message: str, *, client_message: str | None = None) -> None:
        super().__init__(message)
        self.client_message = client_message or message


class TrialNotStoppable(Conflict):
    """Raised when a stop is asked of a trial that is not Scheduled or In Progress."""

    def __init__(self, status: str) -> None:
        super().__init__(
            f"The trial cannot be stopped: it is already {status!r}; only "
            "'Scheduled' or 'In Progress' trials can be stopped.",
            client_message="Trial has either not started or already set to stop.",
        )


class Refused(KallistiError):
    """Raised when a trial may not start now: the halt switch is on, or a
    blackout window is open. The message names the reason or the window."""


class InvalidInput(KallistiError):
    """Raised when an input breaks a rule the request schema cannot express."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class StepError(KallistiError):
    """Base of everything that ends one step unsuccessfully."""


class UnknownModuleName(StepError):
    """Raised when a step's `do` names a namespace that no registered module serves."""


class CouldNotFindFunction(StepError):
    """Raised when the module exists but has no public action of that name."""


class InvalidArguments(StepError):
    """Raised when a step's `where` does not bind to the action's signature."""


class CredentialError(StepError):
    """Raised when a credential is malformed or its secret cannot be read."""


class StepFailed(StepError):
    """Raised when an action ran and failed; the driver's error is chained as cause."""


class ExpectationFailed(StepError):
    """Raised when an action's result does not satisfy one of the step's `expect`."""


class StepTimedOut(StepError):
    """Raised when an action runs longer than the step's time-out."""

    def __init__(self, seconds: float, why: str | None = None) -> None:
        super().__init__(
            f"The step did not finish within {seconds:g} seconds"
            + (f": {why}." if why else ".")
        )


class MissingParameterValueError(KallistiError):
    """Raised when step templates use parameter names that have no value.

    The class name and message are Kallisti's, so clients that read them still work.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        super().__init__(
            "Trial is invalid because of missing value in experiment parameters: "
            + ", ".join(repr(name) for name in self.names)
            + "."
        )
