"""What a Kubernetes API failure means for the user, in one line for the step log.

The `kubernetes` client raises `ApiException` for HTTP answers (with the API's
`Status` JSON as body) and urllib3 errors when no answer came. Each becomes a
`StepFailed` naming the API server and, for 401/403, the credential used (by
type, never by value).
"""

from __future__ import annotations

import json
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kallisti.domain.errors import StepFailed

__all__ = ["api_failure", "status_message"]


def status_message(err: ApiException) -> str:
    """The `message` of the API's `Status` body, or the HTTP reason."""
    body: Any = getattr(err, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return body.strip().splitlines()[0][:300]
        if isinstance(parsed, dict) and parsed.get("message"):
            return str(parsed["message"])
    reason = str(getattr(err, "reason", "") or "").strip()
    return reason.splitlines()[-1] if reason else f"HTTP {getattr(err, 'status', '?')}"


def _tls_failure(host: str, detail: str) -> StepFailed:
    return StepFailed(
        f"TLS connection to the Kubernetes API at {host} failed ({detail}); give the "
        "cluster's CA certificate with `ca_cert`, or set `verify_ssl: false`."
    )


def _no_answer(err: BaseException, host: str, timeout: float) -> StepFailed | None:
    reason: BaseException | None = err
    if isinstance(err, urllib3.exceptions.MaxRetryError) and err.reason is not None:
        reason = err.reason
    if isinstance(reason, urllib3.exceptions.SSLError):
        return _tls_failure(host, str(reason).splitlines()[0])
    if isinstance(reason, urllib3.exceptions.ProxyError):
        return StepFailed(
            f"The Kubernetes API at {host} is unreachable through the proxy set by "
            f"HTTP(S)_PROXY: {str(reason).split(',')[0].strip('( ')}; add the host to "
            "NO_PROXY if it needs no proxy."
        )
    # NewConnectionError subclasses ConnectTimeoutError: test it first.
    if isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionError):
        detail = str(reason).rpartition(": ")[2] or type(reason).__name__
        return StepFailed(f"The Kubernetes API at {host} is unreachable: {detail}.")
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return StepFailed(
            f"The Kubernetes API at {host} is unreachable: no connection within "
            f"{timeout:g} seconds."
        )
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        return StepFailed(
            f"The Kubernetes API at {host} did not answer within {timeout:g} seconds."
        )
    if isinstance(
        reason, urllib3.exceptions.ProtocolError | urllib3.exceptions.HTTPError
    ):
        return StepFailed(
            f"The Kubernetes API at {host} is unreachable: {type(reason).__name__}: "
            f"{str(reason).splitlines()[0] if str(reason) else ''}".rstrip(": ")
            + "."
        )
    return None


def api_failure(
    err: BaseException, *, host: str, identity: str, timeout: float
) -> StepFailed | None:
    """The `StepFailed` that explains `err`, or None when `err` is not an API error.

    `identity` says how the step authenticated (``credential of type TOKEN_FILE
    (token file /x)``); it is named for 401 and 403 answers.
    """
    if isinstance(err, ApiException):
        status = getattr(err, "status", None)
        message = status_message(err)
        if status == 0 and "SSLError" in message:
            return _tls_failure(host, message.splitlines()[-1])
        if status == 401:
            return StepFailed(
                f"The Kubernetes API at {host} rejected the credentials (401 "
                f"Unauthorized); the step authenticated with {identity}."
            )
        if status == 403:
            return StepFailed(
                f"The Kubernetes API at {host} refused the request (403 Forbidden): "
                f"{message}; the step authenticated with {identity}."
            )
        if status == 404:
            return StepFailed(f"Not found on the Kubernetes API at {host}: {message}.")
        if status == 409:
            return StepFailed(f"Conflict on the Kubernetes API at {host}: {message}.")
        if status == 422:
            return StepFailed(
                f"The Kubernetes API at {host} refused the change: {message}."
            )
        return StepFailed(
            f"The Kubernetes API at {host} answered {status} "
            f"{str(getattr(err, 'reason', '') or '').strip()}: {message}."
        )
    return _no_answer(err, host, timeout)
