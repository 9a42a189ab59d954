"""Swagger UI and ReDoc served from this service, not from a CDN.

Kallisti runs where outbound traffic is often closed; the interactive docs
(its landing page) must work there. The assets come from the `fastapi-offline`
package's static folder.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["install_docs"]

_ASSETS_PATH = "/docs-assets"


def _assets_directory() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Serve Swagger UI at /docs and ReDoc at /redoc, with local assets."""
    app.mount(
        _ASSETS_PATH, StaticFiles(directory=_assets_directory()), name="docs-assets"
    )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS_PATH}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{_ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{_ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
