"""Access control over real HTTP: JWTs signed by a loopback identity provider,
roles from the `roles` claim, and a walk of every route of the OpenAPI
document with every role (and without a token)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from identity_provider import IdentityProvider, SigningKey
from kallisti.api.deps import Viewer
from kallisti.auth import Permission, check_permissions_declared, declared_permission
from support import ServiceThread

ROLES = ("viewer", "operator", "editor", "admin")
GRANTED = {
    Permission.PUBLIC: set(ROLES),
    Permission.READ: set(ROLES),
    Permission.OPERATE: {"operator", "editor", "admin"},
    Permission.EDIT: {"editor", "admin"},
    Permission.ADMIN: {"admin"},
}
README = Path(__file__).parents[2] / "README.md"
WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}
_ROW = re.compile(r"^\| `([A-Z]+) (/[^`]*)` \| (\w+) \|")


@pytest.fixture
def secured(secured_service: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured_service.url, timeout=30, verify=False) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _documented_permissions() -> dict[tuple[str, str], Permission]:
    table: dict[tuple[str, str], Permission] = {}
    for line in README.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            method, path, permission = match.groups()
            table[(method, path)] = Permission(permission)
    return table


def _operations(service: ServiceThread) -> dict[tuple[str, str], Permission | None]:
    return {
        (method, str(route.path)): declared_permission(route)
        for route in iter_route_contexts(service.service.app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }


def test_every_route_declares_a_permission(secured_service: ServiceThread) -> None:
    undeclared = [op for op, p in _operations(secured_service).items() if p is None]

    assert undeclared == [], "declare Viewer/Operator/Editor/Admin/Anyone on these"


def test_an_app_with_a_route_that_declares_no_permission_does_not_start() -> None:
    app = FastAPI()

    @app.get("/api/v1/declared")
    def declared(_: Viewer) -> None: ...

    @app.get("/api/v1/forgotten")
    def forgotten() -> None: ...

    with pytest.raises(TypeError, match=r"declare no permission.*/api/v1/forgotten"):
        check_permissions_declared(app.routes)
    check_permissions_declared(app.routes[:-1])


def test_the_readme_role_table_matches_every_documented_route(
    secured_service: ServiceThread, secured: httpx.Client
) -> None:
    document = secured.get("/api/v1/openapi.json").raise_for_status().json()
    declared = _operations(secured_service)
    in_document = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
    }

    assert {op: declared[op] for op in in_document} == _documented_permissions()


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def _answer(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """The answer's status and headers, and its body unless it is an event
    stream (those stay open for a minute)."""
    with client.stream(method, url, **kwargs) as answer:
        if not answer.headers.get("content-type", "").startswith("text/event-stream"):
            answer.read()
        return answer


def test_no_route_is_reachable_without_the_role_it_needs(
    secured_service: ServiceThread,
    secured: httpx.Client,
    identity_provider: IdentityProvider,
) -> None:
    document = secured.get("/api/v1/openapi.json").raise_for_status().json()
    declared = _operations(secured_service)
    tokens = {
        role: identity_provider.token(f"{role}-1", roles=[role]) for role in ROLES
    }
    tokens["no role"] = identity_provider.token("nobody", roles=[])
    checked = 0
    for path, item in document["paths"].items():
        for method in item:
            permission = declared[(method.upper(), path)]
            assert permission is not None
            url = _fill(path)
            anonymous = _answer(secured, method, url)
            if permission is Permission.PUBLIC:
                assert anonymous.status_code not in (401, 403), (method, path)
                continue
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            assert anonymous.headers["www-authenticate"].startswith("Bearer")
            for role, token in tokens.items():
                # No body: a permitted write answers 400/404, never changes state.
                answer = _answer(secured, method, url, headers=_bearer(token))
                if role in GRANTED[permission]:
                    assert answer.status_code not in (401, 403), (method, path, role)
                else:
                    assert answer.status_code == 403, (method, path, role)
                    assert permission.value in answer.json()["detail"]
                checked += 1
    assert checked > 20


def test_health_and_the_docs_need_no_token(secured: httpx.Client) -> None:
    assert secured.get("/api/v1/health").json() == {"status": "up"}
    assert secured.get("/api/v1/openapi.json").status_code == 200
    docs = secured.get("/docs")
    assert docs.status_code == 200
    assert secured.get("/docs-assets/swagger-ui.css").status_code == 200
    assert secured.get("/api/v1/info").status_code == 401


def test_created_by_and_initiated_by_come_from_the_token_subject(
    secured: httpx.Client, identity_provider: IdentityProvider
) -> None:
    editor = _bearer(identity_provider.token("erin@example.com", roles="editor"))
    experiment = secured.post(
        "/api/v1/experiment",
        json={"name": "owned", "steps": [WAIT]},
        headers=editor,
    )
    assert experiment.status_code == 201, experiment.text
    assert experiment.json()["created_by"] == "erin@example.com"

    operator = _bearer(identity_provider.token("otto", roles=["operator"]))
    trial = secured.post(
        "/api/v1/trial",
        json={"experiment": experiment.json()["id"], "dry_run": True},
        headers=operator,
    )
    assert trial.status_code == 201, trial.text
    assert trial.json()["initiated_by"] == "otto"


def test_es256_tokens_verify_too(
    secured: httpx.Client, identity_provider: IdentityProvider
) -> None:
    token = identity_provider.token(
        "ec-user", roles=["viewer"], key=identity_provider.keys[1]
    )

    answer = secured.get("/api/v1/experiment", headers=_bearer(token))

    assert answer.status_code == 200


def test_a_token_without_roles_claim_entries_is_refused_with_the_reason(
    secured: httpx.Client, identity_provider: IdentityProvider
) -> None:
    token = identity_provider.token("guest", roles=["auditor"])

    answer = secured.get("/api/v1/experiment", headers=_bearer(token))

    assert answer.status_code == 403
    assert "'read'" in answer.json()["detail"]


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example.test"},
        {"lifetime_seconds": -120},
    ],
    ids=["wrong audience", "wrong issuer", "expired"],
)
def test_tokens_with_wrong_claims_are_refused(
    secured: httpx.Client,
    identity_provider: IdentityProvider,
    change: dict[str, object],
) -> None:
    token = identity_provider.token("mallory", roles=["admin"], **change)  # type: ignore[arg-type]

    answer = secured.get("/api/v1/experiment", headers=_bearer(token))

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert token not in answer.text


def test_a_token_signed_by_an_unknown_key_is_refused(
    secured: httpx.Client, identity_provider: IdentityProvider
) -> None:
    stranger = SigningKey("RS256")
    token = identity_provider.token("mallory", roles=["admin"], key=stranger)

    answer = secured.get("/api/v1/experiment", headers=_bearer(token))

    assert answer.status_code == 401
    assert "key id" in answer.json()["detail"]


def test_a_forged_key_id_with_a_foreign_signature_is_refused(
    secured: httpx.Client, identity_provider: IdentityProvider
) -> None:
    real = identity_provider.keys[0]
    forger = SigningKey("RS256", kid=real.kid)  # claims the provider's key id

    token = identity_provider.token("mallory", roles=["admin"], key=forger)
    answer = secured.get("/api/v1/experiment", headers=_bearer(token))

    assert answer.status_code == 401


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Token abc"]
)
def test_malformed_authorization_headers_are_401(
    secured: httpx.Client, header: str
) -> None:
    answer = secured.get("/api/v1/trial", headers={"Authorization": header})

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_openapi_document_offers_the_authorize_button(
    secured: httpx.Client,
) -> None:
    document = secured.get("/api/v1/openapi.json").json()

    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert schemes["Auth API"]["flows"]["password"]["tokenUrl"].endswith("/token")
    trial = document["paths"]["/api/v1/trial"]["post"]
    assert {"bearer": []} in trial["security"]
    assert "security" not in document["paths"]["/api/v1/health"]["get"]


def test_calls_are_audited_with_the_caller_and_the_request_id(
    secured: httpx.Client, identity_provider: IdentityProvider
) -> None:
    editor = _bearer(identity_provider.token("erin", roles="editor"))
    admin = _bearer(identity_provider.token("ada", roles="admin"))
    request_id = f"req-{uuid.uuid4()}"
    experiment = secured.post(
        "/api/v1/experiment",
        json={"name": "audited", "steps": [WAIT]},
        headers={**editor, "X-Request-ID": request_id},
    ).json()

    entries = secured.get(
        "/api/v1/audit",
        params={"target_id": experiment["id"]},
        headers=admin,
    )

    assert entries.status_code == 200
    [entry] = entries.json()
    assert entry["action"] == "experiment.create"
    assert entry["actor"] == "erin"
    assert entry["request_id"] == request_id
    assert len(entry["hash"]) == 64
    verify = secured.get("/api/v1/audit/verify", headers=admin)
    assert verify.status_code == 200
    assert verify.json()["ok"] is True
    assert verify.json()["entries"] >= 1
    assert secured.get("/api/v1/audit", headers=editor).status_code == 403
