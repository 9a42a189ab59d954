"""`cm`: common actions — HTTP probes and requests, and waiting.

Both HTTP actions return Kallisti's dict::

    {"status_code", "response_text", "response_headers",
     "response_time_in_seconds", "response"?}

with `response` present when the body is JSON. Every call has a time-out
(`timeout`, default 30 s) that bounds the whole call, token fetch and body
included: a target that never answers, or drips its answer, fails the step.
The body is streamed and read up to `max_response_bytes` (default 10 MB); the
record says when the rest was left unread.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from kallisti.domain.errors import InvalidArguments, StepFailed
from kallisti.modules.cm.auth import authorization_header
from kallisti.modules.context import StepContext, read_only

__all__ = ["http_probe", "http_request", "wait"]

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 10_000_000
_LARGEST_MAX_RESPONSE_BYTES = 100_000_000
_PROBE_METHODS = ("GET", "POST")
_REQUEST_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_BODY_METHODS = ("POST", "PUT", "PATCH")


@read_only
async def http_probe(
    *,
    url: str,
    method: str = "GET",
    request_body: Any = None,
    headers: Mapping[str, str] | None = None,
    authentication: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    verify_tls: bool = True,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    step_context: StepContext,
) -> dict[str, Any]:
    """Call `url` and fail the step when the status is 400 or more (GET or POST)."""
    method = method.upper()
    if method not in _PROBE_METHODS:
        raise InvalidArguments(
            f"Invalid method: {method}. HTTP Probe allows only GET and POST methods"
        )
    result = await _send(
        _HttpCall(
            url,
            method,
            request_body,
            headers,
            authentication,
            timeout,
            verify_tls,
            max_response_bytes,
        ),
        step_context,
    )
    if result["status_code"] >= 400:
        raise StepFailed(
            f"Http probe failed after {result['response_time_in_seconds']} seconds for "
            f"url {url} with status code {result['status_code']}. "
            f"Details: {_excerpt(result['response_text'])}"
        )
    return result


async def http_request(
    *,
    url: str,
    method: str = "GET",
    request_body: Any = None,
    headers: Mapping[str, str] | None = None,
    authentication: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    verify_tls: bool = True,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    step_context: StepContext,
) -> dict[str, Any]:
    """Call `url` with any method; never fails on the status (check it in `expect`)."""
    method = method.upper()
    if method not in _REQUEST_METHODS:
        raise InvalidArguments(
            f"Invalid method: {method}. Please specify a valid HTTP request method "
            f"({', '.join(_REQUEST_METHODS)})"
        )
    return await _send(
        _HttpCall(
            url,
            method,
            request_body,
            headers,
            authentication,
            timeout,
            verify_tls,
            max_response_bytes,
        ),
        step_context,
    )


async def wait(*, time_in_seconds: float) -> None:
    """Wait `time_in_seconds` (a stop interrupts it at once)."""
    if isinstance(time_in_seconds, bool) or not isinstance(
        time_in_seconds, int | float
    ):
        raise InvalidArguments(
            f"Expected a number for argument 'time_in_seconds' (got "
            f"{type(time_in_seconds).__name__})"
        )
    if time_in_seconds < 0:
        raise InvalidArguments("'time_in_seconds' cannot be negative")
    await asyncio.sleep(time_in_seconds)


@dataclass(frozen=True)
class _HttpCall:
    """One HTTP action's arguments, as the step gave them."""

    url: Any
    method: str
    request_body: Any
    headers: Mapping[str, str] | None
    authentication: Mapping[str, Any] | None
    timeout: Any
    verify_tls: Any
    max_response_bytes: Any


async def _send(call: _HttpCall, context: StepContext) -> dict[str, Any]:
    url = call.url
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidArguments(f"url must be an http:// or https:// URL, got {url!r}")
    checked = replace(
        call,
        timeout=_positive_seconds(call.timeout),
        verify_tls=_flag("verify_tls", call.verify_tls),
        max_response_bytes=_byte_cap(call.max_response_bytes),
    )
    try:
        # A little grace, so that a target silent from the start is reported
        # by the client's own read time-out (it names what timed out).
        async with asyncio.timeout(checked.timeout + 0.25):
            return await _exchange(checked, context)
    except TimeoutError as err:
        raise StepFailed(
            f"No complete answer from {url} within {checked.timeout:g} seconds "
            "(the whole call, body included)."
        ) from err


async def _exchange(call: _HttpCall, context: StepContext) -> dict[str, Any]:
    """`call`, its arguments checked: send it and read the answer."""
    url, timeout, cap = call.url, call.timeout, call.max_response_bytes
    request_headers = {str(k): str(v) for k, v in (call.headers or {}).items()}
    content = None
    if call.method in _BODY_METHODS and call.request_body is not None:
        content = json.dumps(call.request_body)
        request_headers.setdefault("Content-Type", "application/json")
    verify = context.tls if call.verify_tls else False
    # Redirects are followed, as Kallisti's (requests-based) probes did.
    async with httpx.AsyncClient(
        timeout=timeout, verify=verify, follow_redirects=True
    ) as client:
        if call.authentication:
            request_headers.update(
                await authorization_header(client, call.authentication, context)
            )
        started = time.perf_counter()
        try:
            async with client.stream(
                call.method, url, content=content, headers=request_headers
            ) as response:
                body, unread = await _read_capped(response, cap)
        except httpx.TimeoutException as err:
            raise StepFailed(
                f"No answer from {url} within {timeout:g} seconds "
                f"({type(err).__name__})."
            ) from err
        except httpx.HTTPError as err:
            raise StepFailed(
                f"Request to {url} failed: {type(err).__name__}: {err}"
            ) from err
        elapsed = round(time.perf_counter() - started, 6)
    if unread:
        context.log(
            f"Response body cut at {cap} bytes (max_response_bytes); "
            f"{unread} left unread."
        )
    text = body.decode(response.encoding or "utf-8", errors="replace")
    del body
    result: dict[str, Any] = {
        "status_code": response.status_code,
        "response_text": text,
        "response_headers": dict(response.headers),
        "response_time_in_seconds": elapsed,
    }
    if not unread:
        try:
            result["response"] = json.loads(text)
        except ValueError:
            pass
    return result


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, str]:
    """Read at most `cap` bytes of the body; return them and how much was left
    unread (``""`` when nothing was), as the record says it."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        room = cap - len(body)
        if len(chunk) > room:
            body += chunk[:room]
            length = response.headers.get("Content-Length", "")
            unread = (
                f"{int(length) - cap} bytes"
                if length.isdigit() and int(length) > cap
                else "the rest"
            )
            return bytes(body), unread
        body += chunk
    return bytes(body), ""


def _byte_cap(value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 < value <= _LARGEST_MAX_RESPONSE_BYTES
    ):
        raise InvalidArguments(
            "max_response_bytes must be a whole number of bytes between 1 and "
            f"{_LARGEST_MAX_RESPONSE_BYTES}, got {value!r}"
        )
    return value


def _positive_seconds(value: Any) -> float:
    """`timeout` as a number of seconds (numbers given as text are accepted)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidArguments(
            f"timeout must be a number of seconds, got {value!r}"
        ) from None
    if not 0 < seconds <= 3600:
        raise InvalidArguments(
            f"timeout must be between 0 and 3600 seconds, got {value!r}"
        )
    return seconds


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidArguments(f"{name} must be true or false, got {value!r}")


def _excerpt(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
