"""Dependencies every route may ask for, named once as `Annotated` aliases.

Every route declares the permission it needs with exactly one of `Anyone`,
`Viewer`, `Operator`, `Editor` or `Admin` (each also gives the caller); a test
walks the OpenAPI document with every role and fails for a route that declared
none, and an app with such a route refuses to start (fail closed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from kallisti.auth import AccessControl, Permission, Principal, requires
from kallisti.auth.ratelimit import TrialRateLimit
from kallisti.notifications.plugins import TrialCreationHooks
from kallisti.settings import Settings
from kallisti.store import Page, Store
from kallisti.store.batch import WriteBatch
from kallisti.store.scoping import LabelScope

__all__ = [
    "Admin",
    "Anyone",
    "CurrentUser",
    "Editor",
    "Operator",
    "PageQuery",
    "ServiceState",
    "State",
    "Viewer",
]

MAX_PAGE_SIZE = 1000

_P = ParamSpec("_P")
_T = TypeVar("_T")


class ServiceState:
    """What the routes share: settings, store, access control, and how to reach
    the worker."""

    def __init__(self, settings: Settings, store: Store, access: AccessControl) -> None:
        self.settings = settings
        self.store = store
        self.access = access
        self.trial_creation_hooks = TrialCreationHooks(settings.trial_creation_hooks)
        self.trial_rate_limit = TrialRateLimit.from_setting(settings.rate_limit_trials)
        # Experiments and trials posted at once are created in shared transactions.
        self.writes = WriteBatch(store, on_loop=True)
        # An in-process worker listens here so it need not wait for its next poll.
        self.trial_created_hooks: list[Callable[[], None]] = []
        self.stop_requested_hooks: list[Callable[[], None]] = []
        # The worker running in this process, if any: `/health` expects it
        # (once it has had a lease's time to start).
        self.local_worker_id: str | None = None
        self.started = time.monotonic()
        self.closing = threading.Event()
        """Set when the server starts shutting down: event streams end, since
        the server waits for every open response before it stops."""

    async def read(
        self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run a short store read (one row by key, a page of trials) and return
        its result.

        SQLite in WAL mode answers such a read from its page cache without
        waiting on writers, faster than a hop to a thread costs, so it runs on
        the event loop; a networked database is awaited from a thread.
        """
        if self.store.dialect == "sqlite":
            return function(*args, **kwargs)
        return await run_in_threadpool(function, *args, **kwargs)

    def scope_of(self, caller: Principal) -> LabelScope | None:
        """What `caller` may see (None: everything; always None with
        KALLISTI_AUTH_SCOPE_LABEL unset)."""
        return self.access.scope_for(caller)

    def notify_trial_created(self) -> None:
        for hook in self.trial_created_hooks:
            hook()

    def notify_stop_requested(self) -> None:
        for hook in self.stop_requested_hooks:
            hook()


# A dependency without I/O is a coroutine: FastAPI runs a plain `def`
# dependency in a thread, a hop that costs far more than the dependency itself.


async def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.kallisti
    return state


def _current_user(
    request: Request, state: Annotated[ServiceState, Depends(_state)]
) -> str:
    return state.access.authenticate(request).user_id


async def _page(
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
PageQuery = Annotated[Page, Depends(_page)]

Anyone = Annotated[Principal, Depends(requires(Permission.PUBLIC))]
"""No credential needed (health checks)."""
Viewer = Annotated[Principal, Depends(requires(Permission.READ))]
"""Read anything (roles viewer and up)."""
Operator = Annotated[Principal, Depends(requires(Permission.OPERATE))]
"""Start and stop trials (roles operator and up)."""
Editor = Annotated[Principal, Depends(requires(Permission.EDIT))]
"""Change experiments and schedules (roles editor and admin)."""
Admin = Annotated[Principal, Depends(requires(Permission.ADMIN))]
"""Notification settings, machine tokens, the audit trail, the halt switch."""

CurrentUser = Annotated[str, Depends(_current_user)]
"""The caller's id, WITHOUT declaring a permission: use one of the aliases
above instead (a route declaring none is admin-only)."""
