"""Kallisti's pluggable classes: KALLISTI_API_AUTH_CLASS and
KALLISTI_API_PERMISSION_CLASS, loaded by "module:attribute"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from support import ServiceThread, running_service, service_settings

WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}


@pytest.fixture(scope="module")
def plugged(database_urls: dict[str, str]) -> Iterator[httpx.Client]:
    settings = service_settings(
        database_urls["sqlite"],
        run_worker=False,
        api_auth_class="access_plugins:ApiKeyAuthentication",
        api_permission_class="access_plugins:NoDeletes",
        auth_roles_claim="roles",
    )
    with (
        running_service(settings) as service,
        httpx.Client(base_url=service.url, timeout=30, verify=False) as client,
    ):
        yield client


def test_the_custom_class_names_the_user(plugged: httpx.Client) -> None:
    answer = plugged.post(
        "/api/v1/experiment",
        json={"name": "plugged", "steps": [WAIT]},
        headers={"X-Api-Key": "carol:editor"},
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["created_by"] == "carol"


def test_roles_from_the_custom_user_claims_apply(plugged: httpx.Client) -> None:
    answer = plugged.post(
        "/api/v1/experiment",
        json={"name": "plugged", "steps": [WAIT]},
        headers={"X-Api-Key": "vic:viewer"},
    )

    assert answer.status_code == 403


def test_no_credentials_and_refusals_are_401(plugged: httpx.Client) -> None:
    assert plugged.get("/api/v1/trial").status_code == 401
    banned = plugged.get("/api/v1/trial", headers={"X-Api-Key": "banned:admin"})
    assert banned.status_code == 401
    assert banned.json() == {"detail": "This key is banned."}


def test_the_permission_class_has_the_last_word(plugged: httpx.Client) -> None:
    answer = plugged.delete(
        f"/api/v1/experiment/{uuid.uuid4()}", headers={"X-Api-Key": "ada:admin"}
    )

    assert answer.status_code == 403
    assert answer.json() == {"detail": "Deleting is switched off here."}


def test_an_unloadable_class_stops_the_service_from_starting(
    database_urls: dict[str, str],
) -> None:
    settings = service_settings(
        database_urls["sqlite"], api_auth_class="access_plugins:Missing"
    )

    with pytest.raises(ValueError, match="KALLISTI_API_AUTH_CLASS"):
        ServiceThread(settings)


def test_a_scope_label_without_access_control_stops_the_service_from_starting(
    database_urls: dict[str, str],
) -> None:
    # Everyone would be the anonymous user: nothing could be scoped.
    settings = service_settings(database_urls["sqlite"], auth_scope_label="team")

    with pytest.raises(ValueError, match="KALLISTI_AUTH_SCOPE_LABEL needs access"):
        ServiceThread(settings)


def test_a_scope_label_that_is_not_a_plain_name_stops_the_service_from_starting(
    database_urls: dict[str, str],
) -> None:
    settings = service_settings(
        database_urls["sqlite"], auth_enabled=True, auth_scope_label='te"am'
    )

    with pytest.raises(ValueError, match="KALLISTI_AUTH_SCOPE_LABEL must be"):
        ServiceThread(settings)
