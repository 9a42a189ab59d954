"""POST /api/v1/session/token: the console's authorization-code sign-in with
PKCE, the code traded on the server at the loopback identity provider's real
token endpoint (so the console's CSP stays `default-src 'self'`)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from identity_provider import IdentityProvider
from support import ServiceThread, running_service, service_settings


@pytest.fixture(scope="module")
def code_service(
    database_urls: dict[str, str], identity_provider: IdentityProvider
) -> Iterator[ServiceThread]:
    settings = service_settings(
        database_urls["sqlite"],
        run_worker=False,
        auth_flow="authorizationCode",
        auth_url=identity_provider.authorize_url,
        auth_jwt_token_url=identity_provider.token_url,
        auth_client_id="kallisti-console",
        auth_client_secret="console-client-secret",
        **identity_provider.service_auth(),
    )
    with running_service(settings) as thread:
        yield thread


@pytest.fixture
def client(code_service: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=code_service.url, timeout=30) as c:
        yield c


def _code(provider: IdentityProvider, service: ServiceThread) -> tuple[str, str]:
    """Sign in at the provider as a browser would: (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    answer = httpx.get(
        provider.authorize_url,
        params={
            "response_type": "code",
            "client_id": "kallisti-console",
            "redirect_uri": f"{service.url}/ui",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
        },
    )
    assert answer.status_code == 302
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    return code, verifier


def _trade(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/api/v1/session/token", json=body)


def test_a_code_and_its_verifier_get_a_token_that_signs_in_once(
    client: httpx.Client,
    code_service: ServiceThread,
    identity_provider: IdentityProvider,
) -> None:
    identity_provider.signed_in_as = ("cora", ["editor"])
    code, verifier = _code(identity_provider, code_service)
    redirect = f"{code_service.url}/ui"

    traded = _trade(client, code=code, code_verifier=verifier, redirect_uri=redirect)
    again = _trade(client, code=code, code_verifier=verifier, redirect_uri=redirect)

    assert traded.status_code == 200, traded.text
    assert set(traded.json()) == {"access_token", "token_type", "expires_in"}
    token = traded.json()["access_token"]
    session = client.get(
        "/api/v1/session", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert (session["signed_in"], session["user_id"]) == (True, "cora")
    # A confidential client's secret goes to the provider, never to a browser.
    assert identity_provider.token_requests[-2]["client_secret"] == (
        "console-client-secret"
    )
    assert "console-client-secret" not in client.get("/api/v1/session").text
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "code"
    assert "invalid_grant" in again.json()["errors"][0]["message"]


def test_a_code_without_its_verifier_gets_no_token(
    client: httpx.Client,
    code_service: ServiceThread,
    identity_provider: IdentityProvider,
) -> None:
    code, _ = _code(identity_provider, code_service)
    answer = _trade(
        client,
        code=code,
        code_verifier=secrets.token_urlsafe(48),
        redirect_uri=f"{code_service.url}/ui",
    )
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["code"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code_verifier": "short"}, "code_verifier"),
        ({"redirect_uri": "https://evil.example/callback"}, "redirect_uri"),
        ({"code": ""}, "code"),
        ({"code": None}, "code"),
        ({"scope": "openid"}, "scope"),
    ],
)
def test_a_bad_exchange_request_is_a_400_naming_the_field(
    client: httpx.Client, change: dict[str, Any], field: str
) -> None:
    body = {
        "code": "abc",
        "code_verifier": "v" * 43,
        "redirect_uri": "http://127.0.0.1/ui",
        **change,
    }
    answer = client.post("/api/v1/session/token", json=body)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_a_service_without_the_code_flow_refuses_to_trade(api: httpx.Client) -> None:
    answer = _trade(
        api, code="abc", code_verifier="v" * 43, redirect_uri="http://127.0.0.1/ui"
    )
    assert answer.status_code == 409
    assert "authorization-code sign-in" in answer.json()["detail"]
