"""Who is told when a trial completes: Kallisti's `{"emails": [...]}`, plus webhooks.

Webhook secrets sign the payloads sent to that webhook and never leave the
service: API responses show them as the mask, and a PUT that sends the mask back
for the same URL keeps the stored secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from kallisti.domain.errors import InvalidInput
from kallisti.domain.secrets import MASK, mask_url_secrets

__all__ = [
    "MAX_RECIPIENTS",
    "NotificationPublic",
    "NotificationSettings",
    "NotificationUpdate",
    "Webhook",
    "WebhookPublic",
]

MAX_RECIPIENTS = 100

# Deliberately plain: one @, no spaces, no control characters (a newline in an
# address would inject mail headers), a dot in the domain or a bare host name.
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+$")


def _check_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError(f"{value[:80]!r} is not an e-mail address")
    return value


def _check_url(value: str) -> str:
    value = value.strip()
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value, re.IGNORECASE):
        raise ValueError(f"{value[:80]!r} is not an http:// or https:// URL")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_check_email)]
WebhookUrl = Annotated[str, Field(max_length=2048), AfterValidator(_check_url)]


class Webhook(BaseModel):
    """A URL that receives a JSON POST when a trial completes.

    With a `secret`, each POST carries `X-Kallisti-Signature: sha256=<hex>`, the
    HMAC-SHA256 of the exact body under that secret.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: WebhookUrl
    secret: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Signs each payload; never returned (shown as the mask).",
    )


class WebhookPublic(BaseModel):
    """A webhook as the API shows it: the secret, if any, masked."""

    url: str
    secret: str | None


class NotificationUpdate(BaseModel):
    """Body of PUT /notification.

    `emails` is required, as in Kallisti. `webhooks`, when left out, keeps the
    webhooks already configured, so Kallisti clients that only know `emails` do
    not remove them.
    """

    model_config = ConfigDict(extra="forbid")

    emails: Annotated[list[Email], Field(max_length=MAX_RECIPIENTS)]
    webhooks: Annotated[list[Webhook], Field(max_length=MAX_RECIPIENTS)] | None = None

    @field_validator("emails")
    @classmethod
    def _unique_emails(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class NotificationSettings(BaseModel):
    """The stored settings, secrets included: for the service's own use only."""

    model_config = ConfigDict(frozen=True)

    emails: list[str] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)

    def public(self) -> NotificationPublic:
        """The API's view: webhook secrets, and secrets in webhook URLs
        (`user:pass@`, `?token=`), masked."""
        return NotificationPublic(
            emails=list(self.emails),
            webhooks=[
                WebhookPublic(
                    url=mask_url_secrets(hook.url),
                    secret=None if hook.secret is None else MASK,
                )
                for hook in self.webhooks
            ],
        )

    def merged_with(self, update: NotificationUpdate) -> NotificationSettings:
        """The settings after a PUT of `update` (see `NotificationUpdate`).

        A webhook sent back with the masked secret keeps the secret stored for
        the same URL; a URL sent back as the API showed it (its secrets masked)
        keeps the stored URL. Raises `InvalidInput` when a URL without a stored secret
        comes with the mask as its secret.
        """
        if update.webhooks is None:
            return NotificationSettings(emails=update.emails, webhooks=self.webhooks)
        stored = {hook.url: hook.secret for hook in self.webhooks}
        shown = {mask_url_secrets(url): url for url in stored}
        webhooks: list[Webhook] = []
        for index, hook in enumerate(update.webhooks):
            if MASK in hook.url and hook.url in shown:
                hook = Webhook(url=shown[hook.url], secret=hook.secret)
            if hook.secret == MASK:
                if stored.get(hook.url) is None:
                    raise InvalidInput(
                        f"webhooks.{index}.secret",
                        f"{MASK!r} stands for a stored secret, and this URL has "
                        "none; send the secret itself",
                    )
                hook = Webhook(url=hook.url, secret=stored[hook.url])
            webhooks.append(hook)
        return NotificationSettings(emails=update.emails, webhooks=webhooks)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class NotificationPublic(BaseModel):
    """Body of GET (and the answer to PUT) /notification."""

    emails: list[str]
    webhooks: list[WebhookPublic]
