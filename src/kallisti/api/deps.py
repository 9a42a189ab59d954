"""Dependencies every route may ask for, named once as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Depends, Query, Request

from kallisti.notifications.plugins import TrialCreationHooks
from kallisti.settings import Settings
from kallisti.store import Page, Store

__all__ = [
    "Authenticator",
    "CurrentUser",
    "NoAuthentication",
    "PageQuery",
    "ServiceState",
    "State",
]

MAX_PAGE_SIZE = 1000


class Authenticator(Protocol):
    """Says who is calling; raises an HTTP 401/403 error when nobody valid is."""

    def __call__(self, request: Request) -> str: ...


class NoAuthentication:
    """Access control off: every caller is "unknown"."""

    def __call__(self, request: Request) -> str:
        return "unknown"


class ServiceState:
    """What the routes share: settings, store, and how to reach the worker."""

    def __init__(
        self, settings: Settings, store: Store, authenticator: Authenticator
    ) -> None:
        self.settings = settings
        self.store = store
        self.authenticator = authenticator
        self.trial_creation_hooks = TrialCreationHooks(settings.trial_creation_hooks)
        # An in-process worker listens here so it need not wait for its next poll.
        self.trial_created_hooks: list[Callable[[], None]] = []
        self.stop_requested_hooks: list[Callable[[], None]] = []

    def notify_trial_created(self) -> None:
        for hook in self.trial_created_hooks:
            hook()

    def notify_stop_requested(self) -> None:
        for hook in self.stop_requested_hooks:
            hook()


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.kallisti
    return state


def _current_user(
    request: Request, state: Annotated[ServiceState, Depends(_state)]
) -> str:
    return state.authenticator(request)


def _page(
    limit: Annotated[
        int | None,
        Query(
            ge=1, le=MAX_PAGE_SIZE, description="Page size; omit for the whole list."
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


State = Annotated[ServiceState, Depends(_state)]
CurrentUser = Annotated[str, Depends(_current_user)]
PageQuery = Annotated[Page, Depends(_page)]
