"""GET /api/v1/session: who the caller is and what its roles allow (public, so
the console can ask before anyone signed in)."""

from __future__ import annotations

import httpx
import pytest

from identity_provider import IdentityProvider
from support import ServiceThread

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_open_service_says_access_control_is_off_and_allows_everything(
    api: httpx.Client,
) -> None:
    body = api.get("/api/v1/session").json()

    assert body["access_control"] is False
    assert body["permissions"] == ["public", "read", "operate", "edit", "admin"]
    assert body["oauth2"] is None


def test_secured_service_names_the_caller_roles_and_permissions(
    secured_service: ServiceThread, identity_provider: IdentityProvider
) -> None:
    with httpx.Client(base_url=secured_service.url, timeout=30) as client:
        nobody = client.get("/api/v1/session").json()
        forged = client.get(
            "/api/v1/session", headers={"Authorization": "Bearer not-a-jwt"}
        ).json()
        token = identity_provider.token("otto", roles=["operator"])
        otto = client.get(
            "/api/v1/session", headers={"Authorization": f"Bearer {token}"}
        ).json()

    assert (nobody["access_control"], nobody["signed_in"]) == (True, False)
    assert nobody["permissions"] == ["public"] and nobody["problem"] is None
    assert forged["signed_in"] is False and forged["problem"]
    assert "not-a-jwt" not in forged["problem"]
    assert otto["signed_in"] is True
    assert (otto["user_id"], otto["kind"], otto["roles"]) == (
        "otto",
        "jwt",
        ["operator"],
    )
    assert otto["permissions"] == ["public", "read", "operate"]
