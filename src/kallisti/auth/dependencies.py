"""The FastAPI dependencies a route declares its permission with.

`requires(permission)` builds the dependency; `kallisti.api.deps` names one
`Annotated` alias per permission. Each dependency carries the permission it
checks, so the app (and a test) can tell which routes declared one; a route
that declared none stops the app from starting (`check_permissions_declared`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import BaseRoute

from kallisti.auth.access import AccessControl
from kallisti.auth.principal import ANONYMOUS_USER, Permission, Principal
from kallisti.store.audit import AuditActor, current_actor

__all__ = [
    "PERMISSION_ATTRIBUTE",
    "check_permissions_declared",
    "declared_permission",
    "requires",
]

PERMISSION_ATTRIBUTE = "kallisti_permission"
_REQUEST_ID_HEADER = "x-request-id"


def _request_id(request: Request) -> str:
    given = request.headers.get(_REQUEST_ID_HEADER, "")
    if given and len(given) <= 128 and given.isprintable():
        return given
    return str(uuid.uuid4())


def _access(request: Request) -> AccessControl:
    access: AccessControl = request.app.state.kallisti.access
    return access


def requires(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that returns the caller once it may use `permission`."""

    async def dependency(request: Request) -> Principal:
        access = _access(request)
        if not access.enabled:
            principal = access.authenticate(request)  # the anonymous user, no I/O
        elif permission is Permission.PUBLIC:
            principal = Principal(ANONYMOUS_USER, roles=frozenset())
        else:
            # Token lookups and JWKS fetches block: keep them off the loop.
            principal = await run_in_threadpool(access.authenticate, request)
            access.authorize(request, principal, permission)
        # Async on purpose: a context variable set here is seen by the route,
        # which runs in a copy of this task's context.
        current_actor.set(AuditActor(principal.user_id, _request_id(request)))
        request.state.principal = principal
        return principal

    setattr(dependency, PERMISSION_ATTRIBUTE, permission)
    dependency.__name__ = f"requires_{permission.value}"
    return dependency


def declared_permission(route: object) -> Permission | None:
    """The permission a route (an `APIRoute`, or FastAPI's context of an included
    one) declared through one of the aliases, if any (the strongest, when it
    declared several)."""
    found: list[Permission] = []
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if isinstance(dependant, Dependant) else []
    while stack:
        dependant = stack.pop()
        permission = getattr(dependant.call, PERMISSION_ATTRIBUTE, None)
        if isinstance(permission, Permission):
            found.append(permission)
        stack.extend(dependant.dependencies)
    if not found:
        return None
    order = list(Permission)
    return max(found, key=order.index)


def check_permissions_declared(routes: Iterable[BaseRoute]) -> None:
    """Refuse to build an app with an API route that declared no permission.

    Checked once at start-up instead of on every request: a route without one
    of the aliases would otherwise be served to anyone, so the app does not
    start (the route-walk test names such routes too).
    """
    undeclared = [
        f"{sorted(context.methods or ())} {context.path}"
        for context in iter_route_contexts(list(routes))
        if isinstance(context.original_route, APIRoute)
        and declared_permission(context) is None
    ]
    if undeclared:
        raise TypeError(
            "These routes declare no permission; give each one of Anyone, Viewer, "
            f"Operator, Editor or Admin: {', '.join(undeclared)}"
        )
