"""No secret leaks: a unique secret is planted through every path a secret can
take (credentials, fetched tokens, OAuth2 client secret and its Basic header,
secret-named and templated parameters, values inside objects under secret
keys, URL userinfo and query values, metadata, ticket, webhook URLs, error
lines), a real `kallisti serve` runs the trial, and then every API answer,
every report format, every webhook body, every server log line and the rows
the run wrote are searched for each secret."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from clock_and_receivers import WebhookReceiver
from hostile_targets import EchoTarget
from support import (
    create_postgres_database,
    drop_postgres_database,
    start_serve,
    wait_for_trial,
)

SECRETS = {
    "credential username": "LeakUser7f3a",
    "credential password": "LeakPassword81c2",
    "token file": "LeakTokenFile4d9e",
    "fetched token": "LeakFetchedToken55b0",
    "client secret": "LeakClientSecret2a71",
    "secret-named parameter": "LeakParamToken9c4f",
    "templated parameter": "LeakTemplatedPw3e88",
    "object under a secret key": "LeakObjectValue6d21",
    "object under secrets": "LeakSecretsDb0b7c",
    "URL userinfo": "LeakUrlPass1f6e",
    "URL query": "LeakQueryToken8a3d",
    "failing URL query": "LeakFailKey4c5b",
    "metadata": "LeakMetadataKey7e19",
    "experiment metadata": "LeakExpMetadata2c90",
    "ticket": "LeakTicketSecret6f04",
    "webhook query": "LeakHookToken3b8a",
    "webhook userinfo": "LeakHookPass9d17",
}


def _forms(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode()[:12]]


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'kallisti.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def echo() -> Iterator[EchoTarget]:
    target = EchoTarget(SECRETS["fetched token"]).start()
    yield target
    target.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hooks = WebhookReceiver().start()
    yield hooks
    hooks.stop()


def _experiment(echo: EchoTarget, token_path: Path) -> dict[str, Any]:
    s = SECRETS
    base = f"http://{echo.address}"
    password_grant = {
        "type": "oauth2_token",
        "url": f"{base}/token",
        "credentials": {
            "type": "ENV_VAR_USERNAME_PASSWORD",
            "username_key": "LEAK_TEST_USER",
            "password_key": "LEAK_TEST_PASSWORD",
        },
        "client": {"id": "kallisti-client", "secret": s["client secret"]},
    }
    return {
        "name": "plants secrets everywhere",
        "metadata": {"owner": "ops", "password": {"v": s["experiment metadata"]}},
        "parameters": {"api_token": s["secret-named parameter"], "pw": "replaced"},
        "steps": [
            {
                "do": "cm.http_request",
                "where": {
                    "url": f"http://ops:{s['URL userinfo']}@{echo.address}/echo"
                    f"?token={s['URL query']}&page=1&t={{{{ api_token }}}}",
                    "method": "POST",
                    "headers": {
                        "Authorization": "Bearer {{ pw }}",
                        "X-Api-Token": "{{ api_token }}",
                    },
                    "request_body": {
                        "password": {"value": s["object under a secret key"]},
                        "secrets": {"db": s["object under secrets"]},
                        "note": "pw is {{ pw }}",
                    },
                },
                "expect": [{"operator": "eq", "status_code": 200}],
            },
            {
                "do": "cm.http_request",
                "where": {"url": f"{base}/echo", "authentication": password_grant},
            },
            {
                "do": "cm.http_request",
                "where": {
                    "url": f"{base}/echo",
                    "authentication": {
                        "type": "oauth2_token",
                        "credentials": {
                            "type": "TOKEN_FILE",
                            "token_path": str(token_path),
                        },
                    },
                },
                "expect": [{"operator": "eq", "status_code": 201}],
            },
        ],
        "post_steps": [
            {
                "do": "cm.http_probe",
                "where": {
                    "url": f"http://ops:{s['URL userinfo']}@{echo.address}/fail"
                    f"?api_key={s['failing URL query']}",
                },
            },
            {
                "do": "cm.http_request",
                "where": {
                    "url": f"{base}/echo",
                    "authentication": {**password_grant, "url": f"{base}/refuse"},
                },
            },
        ],
    }


def test_a_secret_planted_anywhere_is_found_nowhere(
    database_url: str,
    echo: EchoTarget,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    s = SECRETS
    token_path = tmp_path / "token"
    token_path.write_text(s["token file"])
    env = {
        **os.environ,
        "KALLISTI_DATABASE_URL": database_url,
        "KALLISTI_POLL_INTERVAL_SECONDS": "0.05",
        "KALLISTI_NOTIFICATION_BACKOFF_SECONDS": "0",
        "LEAK_TEST_USER": s["credential username"],
        "LEAK_TEST_PASSWORD": s["credential password"],
    }
    process, url, started = start_serve(["--port", "0"], env)
    answers: dict[str, str] = {}
    try:
        with httpx.Client(base_url=url, timeout=30) as api:

            def keep(name: str, response: httpx.Response) -> Any:
                assert response.status_code < 300, (name, response.text)
                answers[name] = response.text
                return (
                    response.json()
                    if "json" in response.headers.get("content-type", "")
                    else None
                )

            hook_query = receiver.hook(f"/hook?token={s['webhook query']}")
            hook_userinfo = receiver.hook("/hook2").replace(
                "http://", f"http://hooks:{s['webhook userinfo']}@"
            )
            keep(
                "PUT /notification",
                api.put(
                    "/api/v1/notification",
                    json={
                        "emails": [],
                        "webhooks": [{"url": hook_query}, {"url": hook_userinfo}],
                    },
                ),
            )
            experiment = keep(
                "POST /experiment",
                api.post("/api/v1/experiment", json=_experiment(echo, token_path)),
            )
            trial = keep(
                "POST /trial",
                api.post(
                    "/api/v1/trial",
                    json={
                        "experiment": experiment["id"],
                        "parameters": {"pw": s["templated parameter"]},
                        "metadata": {"api_key": s["metadata"]},
                        "ticket": {"id": "CHG-1", "secret": s["ticket"]},
                    },
                ),
            )
            ended = wait_for_trial(api, trial["id"], timeout=60)
            assert ended["status"] == "Failed", ended
            record = json.dumps(ended["trial_record"])
            # The trial really ran every path: the tokens went out.
            assert "Authentication for http request failed with status code 401" in (
                record
            )
            deadline = time.monotonic() + 30
            while len(receiver.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(receiver.requests) >= 2, "the webhooks were not called"

            for name, path, params in [
                ("GET /experiment/{id}", f"/api/v1/experiment/{experiment['id']}", {}),
                ("GET /experiment", "/api/v1/experiment", {}),
                ("GET /trial/{id}", f"/api/v1/trial/{trial['id']}", {}),
                ("GET /trial", "/api/v1/trial", {"experiment": experiment["id"]}),
                ("GET /notification", "/api/v1/notification", {}),
                ("GET /report xml", "/api/v1/report", {"trial-id": trial["id"]}),
                ("GET /report all", "/api/v1/report", {}),
                (
                    "GET /report junit",
                    "/api/v1/report",
                    {"trial-id": trial["id"], "format": "junit"},
                ),
                (
                    "GET /report html",
                    "/api/v1/report",
                    {"trial-id": trial["id"], "format": "html"},
                ),
            ]:
                keep(name, api.get(path, params=params))
            notification = json.loads(answers["GET /notification"])
            # Sent back as shown, the webhooks keep their real URLs.
            keep(
                "PUT /notification again",
                api.put("/api/v1/notification", json=notification),
            )
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[0]
        server_log = (started + rest).decode(errors="replace")

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            written = {
                "trial_record row": json.dumps(
                    conn.execute(
                        sa.text("SELECT trial_record FROM trials WHERE id = :id"),
                        {"id": trial["id"]},
                    ).scalar_one()
                ),
                "workers rows": json.dumps(
                    [
                        list(map(str, row))
                        for row in conn.execute(sa.text("SELECT * FROM workers"))
                    ]
                ),
            }
            stored_hooks = json.dumps(
                conn.execute(
                    sa.text("SELECT webhooks FROM notification_settings")
                ).scalar_one()
            )
    finally:
        engine.dispose()

    places = {
        **answers,
        **written,
        "server log": server_log,
        **{
            f"webhook body {index}": request["body"].decode(errors="replace")
            for index, request in enumerate(receiver.requests)
        },
    }
    leaks = [
        f"{kind} in {place}"
        for kind, secret in SECRETS.items()
        for place, text in places.items()
        for form in _forms(secret)
        if form in text
    ]
    assert leaks == []
    assert s["webhook query"] in stored_hooks and s["webhook userinfo"] in stored_hooks
    assert {r["path"] for r in receiver.requests} >= {
        f"/hook?token={s['webhook query']}",
        "/hook2",
    }
