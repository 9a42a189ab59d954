"""The one place where errors become HTTP answers.

- validation errors (body, query) → 400
  ``{"detail", "errors": [{"field", "message"}]}``; a body that cannot be read
  as JSON at all (too deep, not UTF-8, an integer too long) → 400 in that shape
- a path id that is not a valid id → 404 ``{"detail": "Not found."}``: it names
  nothing
- `InvalidInput` → 400 in the same shape
- `NotFound` → 404 ``{"detail": "Not found."}`` (Kallisti's body, exactly)
- `Conflict` → 403 ``{"message", "detail"}`` (Kallisti clients read `message`)
- `AccessRefused` → its own status (401, 403, 429, 503) ``{"detail"}`` with its
  headers (`WWW-Authenticate`, `Retry-After`)
- `Refused` → 409 ``{"detail", "message"}`` (halt switch, blackout window)
- anything unexpected → 500 with no internals (and a log line); a test asserts
  no input reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kallisti.auth.errors import AccessRefused
from kallisti.domain.errors import (
    Conflict,
    InvalidInput,
    KallistiError,
    NotFound,
    Refused,
)

__all__ = [
    "NOT_FOUND",
    "install_error_handlers",
    "not_found_response",
    "validation_response",
]

NOT_FOUND = "Not found."

logger = logging.getLogger(__name__)

_LOCATION_PREFIXES = ("body", "query", "path", "header")


def _field_name(location: Sequence[Any]) -> str:
    parts = list(location)
    if parts and parts[0] in _LOCATION_PREFIXES:
        parts = parts[1:]
    # pydantic names the failing validator of a union/function; users want the field.
    parts = [p for p in parts if not (isinstance(p, str) and p.startswith("function-"))]
    return ".".join(str(p) for p in parts) or "body"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        position = error.get("loc", ("body", "?"))[-1]
        reason = error.get("ctx", {}).get("error", "cannot parse")
        return f"Malformed JSON at character {position}: {reason}"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def validation_response(errors: list[dict[str, str]]) -> JSONResponse:
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return JSONResponse(
        status_code=400,
        content={"detail": f"Invalid request: check {fields}.", "errors": errors},
    )


def not_found_response() -> JSONResponse:
    """Kallisti's (DRF's) 404 body, whatever was not found."""
    return JSONResponse(status_code=404, content={"detail": NOT_FOUND})


def _body_type_message(request: Request, error: dict[str, Any]) -> str:
    content_type = request.headers.get("content-type", "")
    if tuple(error["loc"]) == ("body",) and "json" not in content_type.lower():
        return (
            "The body must be a JSON object sent with "
            f"Content-Type: application/json (got {content_type or 'none'!r})."
        )
    return _message(error)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    in_path = [e for e in exc.errors() if e["loc"] and e["loc"][0] == "path"]
    if in_path:
        # An id that is not a UUID names nothing: 404, as in Kallisti.
        return not_found_response()
    errors = [
        {
            "field": "body"
            if e.get("type") == "json_invalid"
            else _field_name(e["loc"]),
            "message": _body_type_message(request, e),
        }
        for e in exc.errors()
    ]
    return validation_response(errors or [{"field": "body", "message": "invalid"}])


async def _on_kallisti_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KallistiError)
    if isinstance(exc, AccessRefused):
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.message},
            headers=exc.headers,
        )
    if isinstance(exc, InvalidInput):
        return validation_response([{"field": exc.field, "message": exc.reason}])
    if isinstance(exc, NotFound):
        return not_found_response()
    if isinstance(exc, Conflict):
        return JSONResponse(
            status_code=403,
            content={"message": exc.client_message, "detail": exc.message},
        )
    if isinstance(exc, Refused):
        return JSONResponse(
            status_code=409, content={"detail": exc.message, "message": exc.message}
        )
    return JSONResponse(status_code=400, content={"detail": exc.message})


def _unreadable_body_message(cause: BaseException | None) -> str:
    if isinstance(cause, RecursionError):
        return "The body is not readable JSON: it is nested too deeply."
    if isinstance(cause, UnicodeDecodeError):
        return "The body is not readable JSON: it is not valid UTF-8."
    if isinstance(cause, ValueError):
        return f"The body is not readable JSON: {cause}"
    return "The body is not readable JSON."


# What FastAPI raises (as a 400) when json.loads fails other than by syntax.
_FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _FASTAPI_UNREADABLE_BODY:
        # RecursionError, UnicodeDecodeError, an integer over Python's digit
        # limit: answer in the validation shape, naming the body.
        message = _unreadable_body_message(exc.__cause__)
        return validation_response([{"field": "body", "message": message}])
    headers = getattr(exc, "headers", None)
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=headers
    )


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception(
        "unexpected error answering %s %s",
        request.method,
        request.url.path,
        extra={"action": "api_error"},
    )
    return JSONResponse(
        status_code=500,
        content={"detail": "Internal error; the server log has the details."},
    )


_INVALID_RESPONSE: dict[str, Any] = {
    "description": "Invalid request: each bad field is named with the reason.",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}
    },
}
_INVALID_SCHEMA: dict[str, Any] = {
    "title": "Invalid",
    "type": "object",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def _document_invalid_as_400(app: FastAPI) -> None:
    """Make the OpenAPI document say what `_on_validation_error` does: FastAPI
    documents a 422 for every operation with inputs, and this API answers 400."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for path_item in document.get("paths", {}).values():
                for operation in path_item.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault("400", _INVALID_RESPONSE)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            schemas["Invalid"] = _INVALID_SCHEMA
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(KallistiError, _on_kallisti_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
    _document_invalid_as_400(app)
