"""The `cm` module against a real HTTP server on 127.0.0.1 (SPEC §4)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from routing_server import RoutingServer
from trial_harness import MemoryRecorder, make_plan, run_trial

from kallisti.domain.models import TrialStatus
from kallisti.domain.secrets import MASK
from support import ProbeTarget


async def run_step(
    do: str, where: dict[str, Any], expect: list[dict[str, Any]] | None = None
) -> MemoryRecorder:
    plan = make_plan(steps_=[{"do": do, "where": where, "expect": expect or []}])
    return await run_trial(plan)


def result_of(recorder: MemoryRecorder) -> str:
    """The `Result: ...` line of the only step."""
    return next(m for m in recorder.messages("steps") if m.startswith("Result: "))


async def test_http_probe_get_succeeds_and_returns_kallistis_result(
    probe_target: ProbeTarget,
) -> None:
    probe_target.body = {"status": "up", "checks": [{"db": "ok"}]}

    recorder = await run_step(
        "cm.http_probe",
        {"url": f"{probe_target.url}/health", "headers": {"X-Trace": "t-1"}},
        expect=[
            {"operator": "eq", "status_code": 200},
            {"operator": "eq", "response.status": "up"},
            {"operator": "eq", "response.checks[0].db": "ok"},
            {"operator": "regex", "response_text": '"status": "up"'},
            {"operator": "eq", "response_headers.content-type": "application/json"},
            {"operator": "lt", "response_time_in_seconds": 5},
        ],
    )

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    request = probe_target.requests[0]
    assert (request["method"], request["path"]) == ("GET", "/health")
    assert request["headers"]["X-Trace"] == "t-1"
    assert request["body"] == ""
    assert recorder.record["steps"][0]["step_name"] == "Http probe"


async def test_http_probe_post_sends_the_request_body_as_json(
    probe_target: ProbeTarget,
) -> None:
    body = {"order": {"id": 7, "items": ["a", "b"]}, "note": 'it\'s "quoted"'}

    recorder = await run_step(
        "cm.http_probe",
        {"url": f"{probe_target.url}/orders", "method": "post", "request_body": body},
    )

    assert recorder.status is TrialStatus.SUCCEEDED
    request = probe_target.requests[0]
    assert request["method"] == "POST"
    assert json.loads(request["body"]) == body
    assert request["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [400, 404, 503])
async def test_http_probe_fails_on_a_status_of_400_or_more(
    probe_target: ProbeTarget, status: int
) -> None:
    probe_target.status, probe_target.body = status, "service unavailable"
    url = f"{probe_target.url}/health"

    recorder = await run_step("cm.http_probe", {"url": url})

    assert recorder.status is TrialStatus.FAILED
    last = recorder.messages("steps")[-1]
    assert last.startswith("Step failed. Type: StepFailed. Error: Http probe failed ")
    assert f"seconds for url {url} with status code {status}. " in last
    assert last.endswith("Details: service unavailable")


@pytest.mark.parametrize("method", ["GET", "POST", "put", "PATCH", "DELETE"])
async def test_http_request_supports_every_method_and_never_fails_on_status(
    probe_target: ProbeTarget, method: str
) -> None:
    probe_target.status, probe_target.body = 500, {"error": "down"}

    recorder = await run_step(
        "cm.http_request",
        {"url": f"{probe_target.url}/x", "method": method, "request_body": {"a": 1}},
        expect=[
            {"operator": "eq", "status_code": "500"},
            {"operator": "eq", "response.error": "down"},
        ],
    )

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    request = probe_target.requests[0]
    assert request["method"] == method.upper()
    if method.upper() in ("POST", "PUT", "PATCH"):
        assert json.loads(request["body"]) == {"a": 1}
    else:
        assert request["body"] == ""


async def test_the_response_key_is_there_only_for_a_json_body(
    probe_target: ProbeTarget,
) -> None:
    probe_target.body = "<html>not json</html>"

    recorder = await run_step(
        "cm.http_request",
        {"url": probe_target.url},
        expect=[
            {"operator": "eq", "response_text": "<html>not json</html>"},
            {"operator": "eq", "response.anything": 1},
        ],
    )

    assert "'response':" not in result_of(recorder)
    assert recorder.messages("steps")[-1].endswith(
        "the result has no field 'response.anything'."
    )


@pytest.mark.parametrize(
    ("do", "method", "message"),
    [
        (
            "cm.http_probe",
            "PUT",
            "Invalid method: PUT. HTTP Probe allows only GET and POST methods",
        ),
        (
            "cm.http_request",
            "trace",
            "Invalid method: TRACE. Please specify a valid HTTP request method "
            "(GET, POST, PUT, PATCH, DELETE)",
        ),
    ],
)
async def test_invalid_methods_are_rejected_without_a_request(
    probe_target: ProbeTarget, do: str, method: str, message: str
) -> None:
    recorder = await run_step(do, {"url": probe_target.url, "method": method})

    assert recorder.messages("steps")[-1] == (
        f"Step failed. Type: InvalidArguments. Error: {message}"
    )
    assert probe_target.requests == []


async def test_a_target_that_never_answers_fails_the_step_at_its_timeout(
    probe_target: ProbeTarget,
) -> None:
    probe_target.delay_seconds = 5
    url = f"{probe_target.url}/slow"

    started = time.monotonic()
    recorder = await run_step("cm.http_probe", {"url": url, "timeout": 0.3})

    assert time.monotonic() - started < 2
    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps")[-1] == (
        f"Step failed. Type: StepFailed. Error: No answer from {url} within 0.3 "
        "seconds (ReadTimeout)."
    )


async def test_an_unreachable_target_fails_the_step_with_one_line() -> None:
    recorder = await run_step("cm.http_request", {"url": "http://127.0.0.1:9/"})

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps")[-1].startswith(
        "Step failed. Type: StepFailed. Error: Request to http://127.0.0.1:9/ "
        "failed: ConnectError"
    )


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", 42])
async def test_only_http_urls_are_accepted(url: Any) -> None:
    recorder = await run_step("cm.http_request", {"url": url})

    assert recorder.messages("steps")[-1].startswith(
        "Step failed. Type: InvalidArguments. Error: url must be an http:// or "
        "https:// URL"
    )


async def test_oauth2_with_a_token_file_sends_the_token_as_bearer_and_hides_it(
    probe_target: ProbeTarget, tmp_path: Path
) -> None:
    token = "tf-token-31337"
    (tmp_path / "token").write_text(token + "\n", encoding="utf-8")
    probe_target.body = {"you_sent": f"Bearer {token}"}

    recorder = await run_step(
        "cm.http_probe",
        {
            "url": f"{probe_target.url}/api",
            "headers": {"Accept": "application/json"},
            "authentication": {
                "type": "oauth2_token",
                "credentials": {
                    "type": "TOKEN_FILE",
                    "token_path": str(tmp_path / "token"),
                },
            },
        },
    )

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    assert len(probe_target.requests) == 1, "no token endpoint is called"
    headers = probe_target.requests[0]["headers"]
    assert headers["Authorization"] == f"Bearer {token}"
    assert headers["Accept"] == "application/json"
    assert token not in json.dumps(recorder.record)
    assert f"Bearer {MASK}" in result_of(recorder)


async def test_oauth2_password_grant_posts_the_form_with_basic_client_auth(
    probe_target: ProbeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_USER", "alice")
    monkeypatch.setenv("APP_PASSWORD", "alice-pw-123")
    probe_target.body = {"access_token": "grant-token-999", "token_type": "bearer"}

    recorder = await run_step(
        "cm.http_request",
        {
            "url": f"{probe_target.url}/api",
            "authentication": {
                "type": "oauth2_token",
                "url": f"{probe_target.url}/oauth/token",
                "credentials": {
                    "type": "ENV_VAR_USERNAME_PASSWORD",
                    "username_key": "APP_USER",
                    "password_key": "APP_PASSWORD",
                },
                "client": {"id": "kallisti-client", "secret": "client-secret-1"},
                "resource": "https://api.example",
            },
        },
    )

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    grant, call = probe_target.requests
    assert (grant["method"], grant["path"]) == ("POST", "/oauth/token")
    assert grant["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(grant["body"]) == {
        "grant_type": ["password"],
        "username": ["alice"],
        "password": ["alice-pw-123"],
        "resource": ["https://api.example"],
    }
    basic = base64.b64encode(b"kallisti-client:client-secret-1").decode()
    assert grant["headers"]["Authorization"] == f"Basic {basic}"
    assert (call["path"], call["headers"]["Authorization"]) == (
        "/api",
        "Bearer grant-token-999",
    )
    record = json.dumps(recorder.record)
    for secret in ("grant-token-999", "alice-pw-123", "client-secret-1"):
        assert secret not in record


async def test_oauth2_reads_the_token_from_token_key(
    probe_target: ProbeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_USER", "alice")
    monkeypatch.setenv("APP_PASSWORD", "alice-pw-123")
    probe_target.body = {"id_token": "id-token-5555"}

    recorder = await run_step(
        "cm.http_request",
        {
            "url": f"{probe_target.url}/api",
            "authentication": {
                "type": "oauth2_token",
                "url": f"{probe_target.url}/token",
                "token_key": "id_token",
                "credentials": {
                    "type": "ENV_VAR_USERNAME_PASSWORD",
                    "username_key": "APP_USER",
                    "password_key": "APP_PASSWORD",
                },
                "client": {"id": "c"},
            },
        },
    )

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    assert probe_target.requests[1]["headers"]["Authorization"] == (
        "Bearer id-token-5555"
    )


async def test_a_refused_password_grant_fails_the_step_before_the_call(
    probe_target: ProbeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_USER", "alice")
    monkeypatch.setenv("APP_PASSWORD", "alice-pw-123")
    probe_target.status, probe_target.body = 401, {"error": "invalid_grant"}

    recorder = await run_step(
        "cm.http_request",
        {
            "url": f"{probe_target.url}/api",
            "authentication": {
                "type": "oauth2_token",
                "url": f"{probe_target.url}/token",
                "credentials": {
                    "type": "ENV_VAR_USERNAME_PASSWORD",
                    "username_key": "APP_USER",
                    "password_key": "APP_PASSWORD",
                },
                "client": {"id": "c", "secret": "s"},
            },
        },
    )

    assert recorder.status is TrialStatus.FAILED
    assert [r["path"] for r in probe_target.requests] == ["/token"]
    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: StepFailed. Error: Authentication for http request "
        'failed with status code 401. Details: {"error": "invalid_grant"}'
    )


async def test_an_unsupported_authentication_type_is_rejected(
    probe_target: ProbeTarget,
) -> None:
    recorder = await run_step(
        "cm.http_request",
        {"url": probe_target.url, "authentication": {"type": "basic"}},
    )

    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: InvalidArguments. Error: authentication type 'basic' "
        "is not supported; use 'oauth2_token'"
    )
    assert probe_target.requests == []


@pytest.mark.parametrize("seconds", [0, 0.05, 1e-3])
async def test_wait_waits_the_given_seconds(seconds: float) -> None:
    recorder = await run_step("cm.wait", {"time_in_seconds": seconds})

    assert recorder.status is TrialStatus.SUCCEEDED
    assert recorder.record["steps"][0]["step_name"] == "Wait"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5", "Expected a number for argument 'time_in_seconds' (got str)"),
        (True, "Expected a number for argument 'time_in_seconds' (got bool)"),
        (-1, "'time_in_seconds' cannot be negative"),
    ],
)
async def test_wait_rejects_what_is_not_a_duration(value: Any, message: str) -> None:
    recorder = await run_step("cm.wait", {"time_in_seconds": value})

    assert recorder.messages("steps")[-1] == (
        f"Step failed. Type: InvalidArguments. Error: {message}"
    )


async def test_http_probe_follows_redirects_as_kallisti_does(
    routing_server: RoutingServer,
) -> None:
    routing_server.routes["/old"] = (302, {"Location": "/new"}, "")
    routing_server.routes["/new"] = (200, {}, {"page": "new"})

    recorder = await run_step(
        "cm.http_probe",
        {"url": f"{routing_server.url}/old"},
        expect=[
            {"operator": "eq", "status_code": 200},
            {"operator": "eq", "response.page": "new"},
        ],
    )

    assert routing_server.paths == ["/old", "/new"]
    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
