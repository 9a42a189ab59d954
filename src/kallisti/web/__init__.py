"""The operators' console: static assets served by the API itself at `/ui`.

The assets are plain ES modules and CSS shipped inside the package (no Node at
install or run time, nothing fetched from outside). The page talks only to
the API of the service that served it; its Content-Security-Policy holds it
to that.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from kallisti.auth import Permission, requires

__all__ = ["CONSOLE_PATH", "install_console", "static_directory"]

CONSOLE_PATH = "/ui"
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def static_directory() -> Path:
    """Where the console's files are, inside the installed package."""
    return Path(str(importlib.resources.files("kallisti.web") / "static"))


def install_console(app: FastAPI) -> None:
    """Serve the console's page at `/ui` and its files under `/ui/assets`."""
    directory = static_directory()
    app.mount(
        f"{CONSOLE_PATH}/assets",
        StaticFiles(directory=directory),
        name="console-assets",
    )

    # The page and its files are public, like Swagger UI: they hold no data,
    # and the console signs in before it calls the API.
    @app.get(
        CONSOLE_PATH,
        include_in_schema=False,
        dependencies=[Depends(requires(Permission.PUBLIC))],
    )
    def console() -> FileResponse:
        # The trailing-slash middleware serves /ui/ here too; the console
        # routes by the URL fragment (#/trials/...), so one page is enough.
        return FileResponse(
            directory / "index.html",
            media_type="text/html",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": _CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )
