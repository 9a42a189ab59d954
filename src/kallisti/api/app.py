"""Building the FastAPI application: `create_app(settings, store)`."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from kallisti import __version__
from kallisti.api.deps import Anyone, ServiceState
from kallisti.api.docs import install_docs
from kallisti.api.errors import install_error_handlers
from kallisti.api.middleware import BodyLimitMiddleware, TrailingSlashMiddleware
from kallisti.api.routes import (
    all_schedules,
    audit,
    events,
    experiments,
    halt_events,
    ledger,
    metrics,
    modules,
    notifications,
    reports,
    safety,
    schedule_preview,
    schedules,
    service,
    session,
    sign_in,
    targets,
    tokens,
    trials,
    validation,
)
from kallisti.auth import AccessControl, check_permissions_declared
from kallisti.auth.tokens import MachineTokens
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.web import install_console

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
logger = logging.getLogger(__name__)

_DESCRIPTION = """\
Kallisti runs chaos experiments as **trials** and keeps an immutable record of each.

1. `POST /api/v1/experiment` stores an experiment (a plan; nothing runs).
2. `POST /api/v1/trial` with `{"experiment": "<id>"}` starts a trial.
3. `GET /api/v1/trial/{id}` shows its status and each step's log as it runs.

Operators: the [web console](/ui) does all of this in the browser.
"""


def _add_routes(app: FastAPI, router: APIRouter, prefix: str) -> None:
    """Add `router`'s routes to the app itself, under `prefix`.

    What `include_router` did before FastAPI 0.16x. It now keeps each included
    router as a branch resolved again on every request (about a third of a
    small request's time here); routes added to the app are matched directly.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes can be added this way")
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=list(route.tags),
            dependencies=list(route.dependencies),
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=dict(route.responses),
            deprecated=route.deprecated,
            methods=sorted(route.methods or ()),
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
        )


def create_app(
    settings: Settings,
    store: Store,
    *,
    access: AccessControl | None = None,
) -> FastAPI:
    """Build the API over `store`. Nothing runs until a server serves it.

    Raises `ValueError` when the access-control settings cannot work.
    """
    app = FastAPI(
        title="Kallisti",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
        # The service's figures are at /metrics (Prometheus). FastAPI's own
        # OpenTelemetry bridge would look up three providers (and the
        # environment) on every request to find none configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.kallisti = ServiceState(
        settings,
        store,
        access or AccessControl(settings, tokens=MachineTokens(store.tokens)),
    )
    install_error_handlers(app)
    store.safety.configured_windows = tuple(settings.blackout_windows)

    # Routes are matched in this order, one by one: the busiest come first,
    # and a fixed path before the `{id}` path it would match
    # (`/experiment/validate` before `/experiment/{experiment_id}`).
    for module in (
        trials,
        experiments,
        validation,
        targets,
        schedules,
        all_schedules,
        schedule_preview,
        ledger,
        events,
        reports,
        notifications,
        modules,
        service,
        session,
        sign_in,
        tokens,
        safety,
        halt_events,
        audit,
    ):
        _add_routes(app, module.router, API_PREFIX)
    _add_routes(app, metrics.router, "")
    install_docs(app, OPENAPI_URL, settings)
    install_console(app)

    @app.get("/", include_in_schema=False)
    def root(_: Anyone) -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/swagger", include_in_schema=False)
    def swagger(_: Anyone) -> RedirectResponse:  # Kallisti's Swagger UI address
        return RedirectResponse("/docs")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_alias(_: Anyone) -> RedirectResponse:
        return RedirectResponse(OPENAPI_URL)

    @app.get("/swagger.json", include_in_schema=False)
    def swagger_document(_: Anyone) -> JSONResponse:  # Kallisti's document address
        return JSONResponse(app.openapi())

    check_permissions_declared(app.routes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrailingSlashMiddleware)
    return app
