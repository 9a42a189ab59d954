"""Swagger UI and ReDoc served from this service, not from a CDN.

Kallisti runs where outbound traffic is often closed; the interactive docs
(its landing page) must work there. The assets come from the `fastapi-offline`
package's static folder. With access control on, the document declares how
to get a token (Kallisti's `KALLISTI_AUTH_*` settings) so that the Authorize
button works, and a plain bearer scheme for machine tokens.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from kallisti.api.deps import Anyone
from kallisti.auth import Permission, declared_permission
from kallisti.settings import Settings

__all__ = ["install_docs"]

_ASSETS_PATH = "/docs-assets"


def _assets_directory() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def install_docs(app: FastAPI, openapi_url: str, settings: Settings) -> None:
    """Serve Swagger UI at /docs and ReDoc at /redoc, with local assets."""
    if settings.access_control:
        _document_security(app, settings)
    app.mount(
        _ASSETS_PATH, StaticFiles(directory=_assets_directory()), name="docs-assets"
    )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(_: Anyone) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS_PATH}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
            init_oauth=_oauth_config(settings),
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(_: Anyone) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{_ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{_ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )


def _oauth_config(settings: Settings) -> dict[str, Any] | None:
    if not settings.access_control or not settings.auth_client_id:
        return None
    config: dict[str, Any] = {
        "clientId": settings.auth_client_id,
        "appName": settings.auth_client_app_name,
    }
    # Kallisti hands the client secret to Swagger UI too; only a public
    # client's "secret" belongs there, so it is sent only when configured.
    secret = settings.auth_client_secret.get_secret_value()
    if secret:
        config["clientSecret"] = secret
    return config


def _security_schemes(settings: Settings) -> dict[str, Any]:
    schemes: dict[str, Any] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A JWT from the identity provider, or a machine token.",
        }
    }
    if settings.auth_jwt_token_url or settings.auth_url:
        flow: dict[str, Any] = {"scopes": {}}
        if settings.auth_flow in ("password", "clientCredentials"):
            flow["tokenUrl"] = settings.auth_jwt_token_url
        elif settings.auth_flow == "implicit":
            flow["authorizationUrl"] = settings.auth_url
        else:  # authorizationCode (Kallisti's "accessCode")
            flow["authorizationUrl"] = settings.auth_url
            flow["tokenUrl"] = settings.auth_jwt_token_url
        name = {"accessCode": "authorizationCode", "application": "clientCredentials"}
        scheme: dict[str, Any] = {
            "type": settings.auth_type,
            "flows": {name.get(settings.auth_flow, settings.auth_flow): flow},
        }
        if settings.auth_token_name:
            scheme["x-tokenName"] = settings.auth_token_name
        schemes["Auth API"] = scheme
    return schemes


def _document_security(app: FastAPI, settings: Settings) -> None:
    """Add the security schemes, and mark every operation that needs a token."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            needs_token = {
                (route.path, method.lower())
                for route in iter_route_contexts(app.routes)
                if isinstance(route.original_route, APIRoute)
                for method in route.methods or ()
                if declared_permission(route) is not Permission.PUBLIC
            }
            schemes = _security_schemes(settings)
            components = document.setdefault("components", {})
            components["securitySchemes"] = schemes
            for path, path_item in document.get("paths", {}).items():
                for method, operation in path_item.items():
                    if (path, method) in needs_token:
                        operation["security"] = [{name: []} for name in schemes]
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
