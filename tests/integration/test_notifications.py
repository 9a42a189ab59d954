"""Notifications when a trial completes: the /notification API, e-mail over a real
SMTP server (aiosmtpd), signed webhooks with retries, and trial observers.

The tests run their own service (on SQLite and PostgreSQL) on a fresh database,
so that the notification settings they change reach no other test.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clock_and_receivers import SmtpSink, WebhookReceiver, eventually, fresh_database
from kallisti.domain.models import TrialPublic, TrialStatus
from kallisti.notifications import TrialNotifier
from kallisti.settings import Settings
from support import ServiceThread, wait_for_trial

SECRET_PASSWORD = "pa55word-do-not-leak"
observed: list[tuple[str, str]] = []


class RecordingObserver:
    """A Kallisti-style observer: a class with update(**kwargs)."""

    def update(self, **kwargs: Any) -> None:
        trial = kwargs["trial"]
        assert isinstance(trial, TrialPublic)
        observed.append(("class", str(trial.id)))


async def record_trial(*, trial: TrialPublic) -> None:
    observed.append(("function", str(trial.id)))


def failing_observer(*, trial: TrialPublic) -> None:
    raise RuntimeError("observers may fail; nothing else does")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def _settings(database_url: str, smtp_port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "poll_interval_seconds": 0.05,
        "stop_check_interval_seconds": 0.05,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "chaos@kallisti.test",
        "notification_max_attempts": 4,
        "notification_backoff_seconds": 0.1,
        "notification_backoff_max_seconds": 0.5,
        "public_url": "https://kallisti.example.com/",
        "trial_observers": [
            f"{__name__}:RecordingObserver",
            f"{__name__}:failing_observer",
            f"{__name__}.record_trial",
        ],
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def notifying(
    backend: str, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceThread]:
    directory: Path = tmp_path_factory.mktemp(f"notify-{backend}")
    with fresh_database(backend, directory) as url:
        service = ServiceThread(_settings(url, smtp.port)).start()
        yield service
        service.stop()


@pytest.fixture
def api(
    notifying: ServiceThread, smtp: SmtpSink, receiver: WebhookReceiver
) -> Iterator[httpx.Client]:
    notifier = notifying.service.worker.notifier
    eventually(lambda: notifier.pending == 0)
    smtp.messages.clear()
    smtp.refuse_next = 0
    receiver.reset()
    observed.clear()
    with httpx.Client(base_url=notifying.url, timeout=30) as client:
        client.put("/api/v1/notification", json={"emails": [], "webhooks": []})
        yield client


def _run_trial(api: httpx.Client, name: str = "notify me") -> dict[str, Any]:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": name,
            "parameters": {"db_password": SECRET_PASSWORD},
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
        },
    ).json()
    created = api.post(
        "/api/v1/trial",
        json={"experiment": experiment["id"], "metadata": {"token": SECRET_PASSWORD}},
    ).json()
    return wait_for_trial(api, created["id"])


def test_notification_starts_empty_and_put_replaces_the_emails(
    api: httpx.Client,
) -> None:
    emails = ["sre@example.com", "chaos-team@example.org"]

    empty = api.get("/api/v1/notification/")
    put = api.put("/api/v1/notification", json={"emails": emails})
    read = api.get("/api/v1/notification")

    assert empty.status_code == 200
    assert empty.json() == {"emails": [], "webhooks": []}
    assert put.status_code == 200
    assert put.json()["emails"] == emails
    assert read.json() == put.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "emails"),
        ({"emails": ["not an address"]}, "emails.0"),
        ({"emails": ["a@b.c\nBcc: victim@example.com"]}, "emails.0"),
        ({"emails": [], "webhooks": [{"url": "ftp://example.com"}]}, "webhooks.0.url"),
        (
            {"emails": [], "webhooks": [{"url": "http://h", "extra": 1}]},
            "webhooks.0.extra",
        ),
    ],
)
def test_invalid_notification_settings_are_a_400_naming_the_field(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = api.put("/api/v1/notification", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_notification_has_no_delete_or_post(api: httpx.Client) -> None:
    assert api.delete("/api/v1/notification").status_code == 405
    assert api.post("/api/v1/notification", json={"emails": []}).status_code == 405


def test_webhook_secrets_are_masked_and_kept_when_sent_back_masked(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    hooks = [
        {"url": receiver.hook("/signed"), "secret": "s3cr3t-signing-key"},
        {"url": receiver.hook("/plain")},
    ]
    put = api.put("/api/v1/notification", json={"emails": [], "webhooks": hooks})
    shown = api.get("/api/v1/notification").json()
    round_trip = api.put(
        "/api/v1/notification", json={"emails": ["x@example.com"], **shown}
    )
    kallisti_client = api.put(
        "/api/v1/notification", json={"emails": ["y@example.com"]}
    )
    trial = _run_trial(api)

    assert "s3cr3t-signing-key" not in put.text + json.dumps(shown) + round_trip.text
    assert shown["webhooks"] == [
        {"url": receiver.hook("/signed"), "secret": "*****"},
        {"url": receiver.hook("/plain"), "secret": None},
    ]
    assert kallisti_client.json()["webhooks"] == shown["webhooks"]
    (signed,) = eventually(lambda: receiver.delivered("/signed"))
    expected = hmac.new(
        b"s3cr3t-signing-key", signed["body"], hashlib.sha256
    ).hexdigest()
    assert signed["headers"]["x-kallisti-signature"] == f"sha256={expected}"
    assert json.loads(signed["body"])["trial"]["id"] == trial["id"]


def test_a_masked_secret_for_a_new_webhook_is_refused(api: httpx.Client) -> None:
    response = api.put(
        "/api/v1/notification",
        json={
            "emails": [],
            "webhooks": [{"url": "http://127.0.0.1:9/x", "secret": "*****"}],
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "webhooks.0.secret"


def test_a_completed_trial_is_emailed_over_smtp(
    api: httpx.Client, smtp: SmtpSink
) -> None:
    api.put(
        "/api/v1/notification", json={"emails": ["sre@example.com", "lead@example.com"]}
    ).raise_for_status()

    trial = _run_trial(api, name="Checkout survives a pod loss")

    ((recipients, message),) = eventually(lambda: smtp.messages)
    assert recipients == ["sre@example.com", "lead@example.com"]
    assert (
        message["Subject"] == "[Kallisti] Trial Succeeded: Checkout survives a pod loss"
    )
    assert message["From"] == "chaos@kallisti.test"
    assert message["X-Kallisti-Trial"] == trial["id"]
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode()
    assert trial["id"] in text
    assert "Trial Completed." in text
    assert f"https://kallisti.example.com/api/v1/trial/{trial['id']}" in text
    assert SECRET_PASSWORD not in text


def test_a_refused_email_is_retried(api: httpx.Client, smtp: SmtpSink) -> None:
    smtp.refuse_next = 2
    api.put(
        "/api/v1/notification", json={"emails": ["sre@example.com"]}
    ).raise_for_status()

    trial = _run_trial(api)

    ((_, message),) = eventually(lambda: smtp.messages)
    assert message["X-Kallisti-Trial"] == trial["id"]


def test_webhooks_get_the_trial_as_json_and_are_retried_with_back_off(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.statuses = [503, 502]
    api.put(
        "/api/v1/notification",
        json={"emails": [], "webhooks": [{"url": receiver.hook("/retry")}]},
    ).raise_for_status()

    trial = _run_trial(api)

    (delivered,) = eventually(lambda: receiver.delivered("/retry"))
    attempts = [r for r in receiver.requests if r["path"] == "/retry"]
    assert [r["status"] for r in attempts] == [503, 502, 200]
    assert len({r["headers"]["x-kallisti-delivery"] for r in attempts}) == 1
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1
    assert "x-kallisti-signature" not in delivered["headers"]
    assert delivered["headers"]["x-kallisti-event"] == "trial.completed"
    payload = json.loads(delivered["body"])
    assert payload["event"] == "trial.completed"
    assert payload["trial"]["id"] == trial["id"]
    assert payload["trial"]["status"] == "Succeeded"
    assert payload["trial"]["experiment_name"] == "notify me"
    assert payload["trial"]["result"][-1].endswith("Trial Completed.")
    assert SECRET_PASSWORD not in delivered["body"].decode()


def test_a_webhook_answering_404_is_not_retried(
    api: httpx.Client, receiver: WebhookReceiver, service: ServiceThread
) -> None:
    receiver.statuses = [404]
    api.put(
        "/api/v1/notification",
        json={"emails": [], "webhooks": [{"url": receiver.hook("/gone")}]},
    ).raise_for_status()

    _run_trial(api)

    eventually(lambda: receiver.requests)
    # The delivery is over (a retry would keep it pending through its back-off).
    eventually(lambda: service.service.worker.notifier.pending == 0)
    assert [r["status"] for r in receiver.requests] == [404]


def test_a_slow_webhook_delays_neither_the_trial_nor_the_next_one(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.delay_seconds = 3.0
    api.put(
        "/api/v1/notification",
        json={"emails": [], "webhooks": [{"url": receiver.hook("/slow")}]},
    ).raise_for_status()
    started = time.monotonic()

    first = _run_trial(api)
    second = _run_trial(api)

    assert time.monotonic() - started < 2.5
    assert (first["status"], second["status"]) == ("Succeeded", "Succeeded")
    assert receiver.requests == []  # still being answered
    eventually(lambda: len(receiver.delivered("/slow")) == 2, timeout=15)


def test_observers_are_called_with_each_completed_trial(api: httpx.Client) -> None:
    trial = _run_trial(api)

    eventually(lambda: len(observed) == 2)
    assert sorted(observed) == [("class", trial["id"]), ("function", trial["id"])]


def test_without_an_smtp_server_emails_are_skipped_and_webhooks_still_sent(
    notifying: ServiceThread, api: httpx.Client, receiver: WebhookReceiver
) -> None:
    api.put(
        "/api/v1/notification",
        json={
            "emails": ["sre@example.com"],
            "webhooks": [{"url": receiver.hook("/direct")}],
        },
    ).raise_for_status()
    trial = _run_trial(api)
    eventually(lambda: receiver.delivered("/direct"))
    receiver.reset()
    store = notifying.service.store
    settings = _settings(store.database_url, 1, smtp_host=None, trial_observers=[])

    async def notify() -> None:
        notifier = TrialNotifier(settings, store)
        await notifier.trial_closed(uuid.UUID(trial["id"]), TrialStatus.SUCCEEDED)
        await notifier.wait_idle()
        await notifier.aclose()

    asyncio.run(notify())

    (delivered,) = receiver.delivered("/direct")
    assert json.loads(delivered["body"])["trial"]["id"] == trial["id"]
