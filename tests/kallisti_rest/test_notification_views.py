"""Ported from kallisti-core tests/kallisticore/views/test_notification.py and
tests/kallisticore/serializers/test_notification_serializer.py (1.3.7)."""

from __future__ import annotations

import httpx

NOTIFICATION = "/api/v1/notification"


def update_notification_list(client: httpx.Client) -> None:
    response = client.put(NOTIFICATION, json={"emails": ["sample@test.com"]})
    assert response.status_code == 200, response.text


def _kallisti_fields(body: dict[str, object]) -> dict[str, object]:
    # A1: the answer also carries this project's `webhooks`.
    return {key: value for key, value in body.items() if key != "webhooks"}


# TestNotificationListAPI.test_list_empty
def test_list_empty(kallisti: httpx.Client) -> None:
    response = kallisti.get(NOTIFICATION)

    assert response.status_code == 200
    assert _kallisti_fields(response.json()) == {"emails": []}


# TestNotificationListAPI.test_list
def test_list(kallisti: httpx.Client) -> None:
    update_notification_list(kallisti)
    response = kallisti.get(NOTIFICATION)

    assert len(_kallisti_fields(response.json())) == 1
    assert response.status_code == 200
    assert _kallisti_fields(response.json()) == {"emails": ["sample@test.com"]}


# TestNotificationPutAPI.test_put
def test_put(kallisti: httpx.Client) -> None:
    update_notification_list(kallisti)

    response = kallisti.put(NOTIFICATION, json={"emails": ["123@email.com"]})

    assert response.status_code == 200
    # Notification.objects.count() == 1: one setting, now the new list.
    assert kallisti.get(NOTIFICATION).json()["emails"] == ["123@email.com"]


# serializers/test_notification_serializer.py:
# TestNotificationSerializer.test_notification_fetch
def test_notification_fetch(kallisti: httpx.Client) -> None:
    update_notification_list(kallisti)
    notification_data = kallisti.get(NOTIFICATION).json()

    assert notification_data["emails"] == ["sample@test.com"]
