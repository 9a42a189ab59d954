"""Posting the completed-trial payload to webhooks, signed when they have a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from kallisti import __version__
from kallisti.domain.notifications import Webhook
from kallisti.notifications.retry import PermanentFailure

__all__ = ["SIGNATURE_HEADER", "WebhookSender", "sign"]

SIGNATURE_HEADER = "X-Kallisti-Signature"
EVENT_HEADER = "X-Kallisti-Event"
DELIVERY_HEADER = "X-Kallisti-Delivery"

# Worth retrying: the receiver may be restarting or asks us to slow down.
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=` and the hex HMAC-SHA256 of `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender:
    """Delivers payloads over one shared HTTP client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @staticmethod
    def encode(payload: dict[str, Any]) -> bytes:
        """The exact bytes sent (and signed)."""
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    async def post(
        self, webhook: Webhook, body: bytes, *, event: str, delivery_id: uuid.UUID
    ) -> None:
        """POST `body` once. Raises `PermanentFailure` for a 4xx answer that no
        retry will change, and `httpx.HTTPError` for what a retry may fix
        (network errors, time-outs, 5xx, 408, 425, 429)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"kallisti/{__version__}",
            EVENT_HEADER: event,
            # The same id on every retry: receivers can drop duplicates.
            DELIVERY_HEADER: str(delivery_id),
        }
        if webhook.secret:
            headers[SIGNATURE_HEADER] = sign(webhook.secret, body)
        response = await self._client.post(webhook.url, content=body, headers=headers)
        status = response.status_code
        if status < 300:
            return
        if status >= 500 or status in _TRANSIENT_STATUSES:
            raise httpx.HTTPStatusError(
                f"HTTP {status}", request=response.request, response=response
            )
        raise PermanentFailure(f"HTTP {status} from {_safe_url(webhook.url)}")


def _safe_url(url: str) -> str:
    # URLs may carry tokens in their query or user info: log scheme, host, path.
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}{parsed.path}"
