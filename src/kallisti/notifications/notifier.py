"""Telling people and systems that a trial completed: e-mail, webhooks, observers.

The worker calls `TrialNotifier.trial_closed` after it has closed a trial. That
call only starts a background task and returns: reading the trial, sending mail,
posting webhooks (with retries and back-off) and calling observers all happen
off the trial's path and off the worker's claim loop, and their failures are
logged, never raised. Deliveries still pending when the worker shuts down get
`notification_drain_seconds` to finish; they are not persisted, so a worker
killed outright loses the notifications it had not sent yet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from typing import Any

import httpx

from kallisti.domain.models import TrialPublic, TrialStatus
from kallisti.domain.notifications import NotificationSettings, Webhook
from kallisti.notifications.messages import TRIAL_COMPLETED, build_email, build_payload
from kallisti.notifications.plugins import TrialObservers
from kallisti.notifications.retry import RetryPolicy, deliver_with_retries
from kallisti.notifications.smtp import SmtpConfig, SmtpMailer
from kallisti.notifications.webhooks import WebhookSender
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store.notifications import NotificationRepository

__all__ = ["TrialNotifier"]

logger = logging.getLogger(__name__)


class TrialNotifier:
    """Sends the notifications of completed trials, in the background.

    Raises `InvalidInput` at construction when a configured observer cannot be
    loaded (so a misconfigured worker fails at start-up, not at the first trial).
    """

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._repository = NotificationRepository(store.engine, store.clock)
        self._observers = TrialObservers(settings.trial_observers)
        self._policy = RetryPolicy(
            max_attempts=settings.notification_max_attempts,
            backoff_seconds=settings.notification_backoff_seconds,
            backoff_max_seconds=settings.notification_backoff_max_seconds,
        )
        self._mailer = (
            None
            if not settings.smtp_host
            else SmtpMailer(
                SmtpConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username,
                    password=(
                        None
                        if settings.smtp_password is None
                        else settings.smtp_password.get_secret_value()
                    ),
                    starttls=settings.smtp_starttls,
                    use_ssl=settings.smtp_ssl,
                    timeout_seconds=settings.smtp_timeout_seconds,
                )
            )
        )
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._warned_no_smtp = False

    async def trial_closed(self, trial_id: uuid.UUID, status: TrialStatus) -> None:
        """The worker's `on_trial_closed` hook: start notifying and return at once."""
        self._spawn(self._notify(trial_id), trial_id)

    def _spawn(self, coroutine: Coroutine[Any, Any, None], trial_id: uuid.UUID) -> None:
        task: asyncio.Task[None] = asyncio.create_task(
            coroutine, name=f"kallisti-notify-{trial_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """Notification tasks not finished yet."""
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until every notification started so far is done (used by tests
        and at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, grace_seconds: float | None = None) -> None:
        """Give pending deliveries `grace_seconds` (default: the settings'
        `notification_drain_seconds`), cancel the rest, release the HTTP client."""
        if grace_seconds is None:
            grace_seconds = self._settings.notification_drain_seconds
        try:
            await asyncio.wait_for(self.wait_idle(), grace_seconds)
        except TimeoutError:
            logger.warning(
                "%d notification(s) not delivered before shutdown",
                len(self._tasks),
                extra={"action": "notify"},
            )
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _notify(self, trial_id: uuid.UUID) -> None:
        extra = {"trial_id": str(trial_id), "action": "notify"}
        try:
            loaded = await self._store.run(self._load, trial_id)
        except Exception:
            logger.exception("cannot read the completed trial to notify", extra=extra)
            return
        if loaded is None:
            return
        trial, name, targets = loaded
        if targets.emails:
            self._spawn(self._send_email(trial, name, targets.emails), trial_id)
        if targets.webhooks:
            payload = build_payload(trial, name, self._settings.public_url)
            body = WebhookSender.encode(payload)
            for webhook in targets.webhooks:
                self._spawn(self._post_webhook(trial, webhook, body), trial_id)
        if len(self._observers):
            await self._observers.notify(trial)

    def _load(
        self, trial_id: uuid.UUID
    ) -> tuple[TrialPublic, str, NotificationSettings] | None:
        """The trial, its experiment's name and where to send them; None when
        nobody is to hear of it (most trials: no need to read the trial)."""
        targets = self._repository.get()
        if not (targets.emails or targets.webhooks or len(self._observers)):
            return None
        trial = self._store.trials.get(trial_id)
        return trial, self._repository.experiment_name_of(trial_id), targets

    async def _send_email(
        self, trial: TrialPublic, name: str, emails: list[str]
    ) -> None:
        extra = {"trial_id": str(trial.id), "action": "notify_email"}
        if self._mailer is None:
            if not self._warned_no_smtp:
                self._warned_no_smtp = True
                logger.warning(
                    "notification e-mails are configured but KALLISTI_SMTP_HOST is "
                    "not set: no e-mail is sent",
                    extra=extra,
                )
            return
        mailer = self._mailer
        message = build_email(
            trial,
            name,
            sender=self._settings.smtp_from,
            recipients=emails,
            public_url=self._settings.public_url,
            report_title=self._settings.report_header_title,
        )

        async def attempt() -> None:
            await mailer.send(message)

        await deliver_with_retries(attempt, self._policy, what="e-mail", extra=extra)

    async def _post_webhook(
        self, trial: TrialPublic, webhook: Webhook, body: bytes
    ) -> None:
        extra = {"trial_id": str(trial.id), "action": "notify_webhook"}
        sender = WebhookSender(self._http_client())
        delivery_id = uuid.uuid4()

        async def attempt() -> None:
            await sender.post(
                webhook, body, event=TRIAL_COMPLETED, delivery_id=delivery_id
            )

        await deliver_with_retries(attempt, self._policy, what="webhook", extra=extra)

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._settings.webhook_timeout_seconds, follow_redirects=False
            )
        return self._client
