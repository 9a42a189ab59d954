"""Machine tokens over real HTTP: admins manage them under /api/v1/token, CI
pipelines use them as bearer tokens with the one role they carry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from identity_provider import IdentityProvider
from kallisti.store.tables import machine_tokens
from support import ServiceThread

WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}


@pytest.fixture
def secured(secured_service: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured_service.url, timeout=30, verify=False) as c:
        yield c


@pytest.fixture
def admin(identity_provider: IdentityProvider) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity_provider.token('ada', roles='admin')}"}


def _create(
    client: httpx.Client, admin: dict[str, str], role: str, **extra: str
) -> dict[str, str]:
    name = f"ci-{uuid.uuid4().hex[:8]}"
    answer = client.post(
        "/api/v1/token", json={"name": name, "role": role, **extra}, headers=admin
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, str] = answer.json()
    return created


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_machine_token_acts_with_its_role(
    secured: httpx.Client, admin: dict[str, str]
) -> None:
    created = _create(secured, admin, "operator")
    ci = _bearer(created["token"])
    editor_only = secured.post(
        "/api/v1/experiment", json={"name": "ci", "steps": [WAIT]}, headers=ci
    )
    experiment = secured.post(
        "/api/v1/experiment", json={"name": "ci", "steps": [WAIT]}, headers=admin
    ).json()

    trial = secured.post(
        "/api/v1/trial", json={"experiment": experiment["id"]}, headers=ci
    )

    assert editor_only.status_code == 403
    assert trial.status_code == 201, trial.text
    assert trial.json()["initiated_by"] == f"token:{created['name']}"


def test_only_a_hash_of_the_token_is_stored(
    secured: httpx.Client, admin: dict[str, str], secured_service: ServiceThread
) -> None:
    created = _create(secured, admin, "viewer")

    with secured_service.service.store.read() as conn:
        rows = conn.execute(sa.select(machine_tokens)).mappings().all()

    assert all(created["token"] not in str(dict(row)) for row in rows)
    listed = secured.get("/api/v1/token", headers=admin).json()
    assert created["name"] in [t["name"] for t in listed]
    assert all("token" not in t for t in listed)


def test_a_revoked_token_is_refused_at_once(
    secured: httpx.Client, admin: dict[str, str]
) -> None:
    created = _create(secured, admin, "viewer")
    ci = _bearer(created["token"])
    assert secured.get("/api/v1/trial?limit=1", headers=ci).status_code == 200

    revoked = secured.delete(f"/api/v1/token/{created['name']}", headers=admin)

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = secured.get("/api/v1/trial?limit=1", headers=ci)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_machine_token_is_401(secured: httpx.Client) -> None:
    answer = secured.get("/api/v1/trial", headers=_bearer("kallisti_mt_" + "x" * 43))

    assert answer.status_code == 401


def test_only_admins_manage_tokens(
    secured: httpx.Client, admin: dict[str, str], identity_provider: IdentityProvider
) -> None:
    created = _create(secured, admin, "editor")
    editor = _bearer(created["token"])

    assert secured.get("/api/v1/token", headers=editor).status_code == 403
    assert (
        secured.post(
            "/api/v1/token", json={"name": "x", "role": "admin"}, headers=editor
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "ok", "role": "root"}, "role"),
        ({"name": "has space", "role": "viewer"}, "name"),
        ({"name": "ok", "role": "viewer", "expires": "soon"}, "expires"),
    ],
)
def test_bad_token_requests_name_the_field(
    secured: httpx.Client, admin: dict[str, str], body: dict[str, str], field: str
) -> None:
    answer = secured.post("/api/v1/token", json=body, headers=admin)

    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_a_live_name_cannot_be_taken_twice(
    secured: httpx.Client, admin: dict[str, str]
) -> None:
    created = _create(secured, admin, "viewer")

    again = secured.post(
        "/api/v1/token", json={"name": created["name"], "role": "viewer"}, headers=admin
    )

    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "name"


def test_revoking_an_unknown_token_is_404(
    secured: httpx.Client, admin: dict[str, str]
) -> None:
    assert secured.delete("/api/v1/token/nobody", headers=admin).status_code == 404


def test_an_expired_token_is_refused(
    secured: httpx.Client, admin: dict[str, str], secured_service: ServiceThread
) -> None:
    created = _create(secured, admin, "viewer", expires="1d")
    ci = _bearer(created["token"])
    assert secured.get("/api/v1/trial?limit=1", headers=ci).status_code == 200

    with secured_service.service.store.write() as conn:
        conn.execute(
            machine_tokens.update()
            .where(machine_tokens.c.name == created["name"])
            .values(expires_at=sa.func.current_timestamp())
        )

    assert secured.get("/api/v1/trial?limit=1", headers=ci).status_code == 401
