"""Sending e-mail over SMTP (stdlib `smtplib`, in a thread: never on the loop)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from kallisti.notifications.retry import PermanentFailure

__all__ = ["SmtpConfig", "SmtpMailer"]


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    timeout_seconds: float = 10.0


class SmtpMailer:
    """Sends one message per call over a fresh SMTP connection."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage) -> None:
        """Send `message`; raises `PermanentFailure` when the server refuses it for
        good (5xx), and other errors (connection, 4xx) for the caller to retry."""
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        config = self.config
        context = ssl.create_default_context()
        client: smtplib.SMTP
        try:
            if config.use_ssl:
                client = smtplib.SMTP_SSL(
                    config.host,
                    config.port,
                    timeout=config.timeout_seconds,
                    context=context,
                )
            else:
                client = smtplib.SMTP(
                    config.host, config.port, timeout=config.timeout_seconds
                )
            with client:
                if config.starttls and not config.use_ssl:
                    client.starttls(context=context)
                if config.username:
                    client.login(config.username, config.password or "")
                client.send_message(message)
        except smtplib.SMTPResponseException as err:
            if 500 <= err.smtp_code < 600:
                raise PermanentFailure(
                    f"SMTP {err.smtp_code}: {err.smtp_error!r}"
                ) from err
            raise
        except smtplib.SMTPRecipientsRefused as err:
            raise PermanentFailure(
                f"all recipients refused: {sorted(err.recipients)}"
            ) from err
