"""Notification rules with no I/O: settings merge, signatures, payloads, back-off,
plug-in loading."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest

from kallisti.domain.errors import Conflict, InvalidInput
from kallisti.domain.models import TrialCreate, TrialPublic, TrialStatus
from kallisti.domain.notifications import (
    NotificationSettings,
    NotificationUpdate,
    Webhook,
)
from kallisti.notifications import (
    RetryPolicy,
    TrialCreationHooks,
    TrialObservers,
    build_email,
    build_payload,
    sign,
)


def _trial(**fields: object) -> TrialPublic:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "experiment": uuid.uuid4(),
        "parameters": {"password": "p4ssw0rd-secret", "region": "eu"},
        "metadata": {"api_token": "tok-secret-1234", "team": "sre"},
        "ticket": {"id": "CHG-1"},
        "status": TrialStatus.FAILED,
        "trial_record": {
            "steps": [
                {
                    "step_name": "Http probe",
                    "step_parameters": {},
                    "logs": [
                        "[2026-01-01T00:00:00.000Z - INFO] Starting command execution.",
                        "[2026-01-01T00:00:01.000Z - ERROR] Step failed. Type: X.",
                    ],
                }
            ],
            "result": ["[2026-01-01T00:00:01.000Z - ERROR] Trial Failed."],
        },
        "initiated_by": "alice",
        "initiated_from": "schedule",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "executed_at": datetime(2026, 1, 1, tzinfo=UTC),
        "completed_at": datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
    }
    values.update(fields)
    return TrialPublic.model_validate(values)


def test_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"event":"trial.completed"}'
    expected = hmac.new(b"key", body, hashlib.sha256).hexdigest()
    assert sign("key", body) == f"sha256={expected}"


def test_payload_masks_secret_named_values() -> None:
    payload = build_payload(_trial(), "checkout", "https://k.example.com")
    trial = payload["trial"]
    assert trial["parameters"] == {"password": "*****", "region": "eu"}
    assert trial["metadata"] == {"api_token": "*****", "team": "sre"}
    assert trial["succeeded"] is False
    assert trial["url"] == f"https://k.example.com/api/v1/trial/{trial['id']}"


def test_email_says_what_failed_and_carries_no_secret() -> None:
    message = build_email(
        _trial(),
        "checkout\nBcc: x@example.com",
        sender="k@example.com",
        recipients=["a@b.c"],
    )
    text = message.get_content()
    assert message["Subject"] == "[Kallisti] Trial Failed: checkout Bcc: x@example.com"
    assert "steps[1] Http probe" in text
    assert "p4ssw0rd-secret" not in text and "tok-secret-1234" not in text
    assert "api_token=*****" in text


def test_put_without_webhooks_keeps_them_and_the_mask_keeps_a_secret() -> None:
    stored = NotificationSettings(
        emails=["a@example.com"], webhooks=[Webhook(url="https://h/x", secret="k")]
    )
    kept = stored.merged_with(NotificationUpdate(emails=["b@example.com"]))
    masked = stored.merged_with(
        NotificationUpdate.model_validate(
            {"emails": [], "webhooks": [{"url": "https://h/x", "secret": "*****"}]}
        )
    )
    assert kept.webhooks == stored.webhooks and kept.emails == ["b@example.com"]
    assert masked.webhooks[0].secret == "k"
    assert stored.public().webhooks[0].secret == "*****"


def test_duplicate_emails_are_kept_once() -> None:
    update = NotificationUpdate(
        emails=["a@example.com", " a@example.com", "b@example.com"]
    )
    assert update.emails == ["a@example.com", "b@example.com"]


def test_back_off_doubles_up_to_its_cap_with_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_seconds=1.0, backoff_max_seconds=5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delay = policy.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_an_unloadable_observer_fails_at_start_up_naming_the_setting() -> None:
    with pytest.raises(InvalidInput, match="trial_observers") as caught:
        TrialObservers(["kallisti.no_such_module:Observer"])
    assert "cannot import" in str(caught.value)
    with pytest.raises(InvalidInput, match="has no Nope"):
        TrialObservers(["kallisti.notifications:Nope"])
    with pytest.raises(InvalidInput, match=r"package\.module:attribute"):
        TrialCreationHooks(["nodots"])


def _returns_new(trial: TrialCreate) -> TrialCreate:
    return trial.model_copy(update={"metadata": {"hooked": True}})


def _returns_garbage(trial: TrialCreate) -> object:
    return {"experiment": "not-a-uuid"}


def _crashes(trial: TrialCreate) -> None:
    raise KeyError("bug in a hook")


def test_creation_hooks_may_return_a_new_request_but_not_an_invalid_one() -> None:
    request = TrialCreate(experiment=uuid.uuid4())
    assert TrialCreationHooks([f"{__name__}:_returns_new"]).apply(request).metadata == {
        "hooked": True
    }
    with pytest.raises(Conflict, match="returned an invalid trial request"):
        TrialCreationHooks([f"{__name__}:_returns_garbage"]).apply(request)
    with pytest.raises(Conflict, match=r"creation hook .*_crashes failed"):
        TrialCreationHooks([f"{__name__}:_crashes"]).apply(request)
