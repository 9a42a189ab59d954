"""Secrets never reach the trial record or the logs (SPEC §3, Credentials)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from trial_harness import MemoryRecorder, make_engine, make_plan, run_trial

from kallisti.credentials import CredentialContext
from kallisti.domain.models import TrialStatus
from kallisti.domain.secrets import MASK
from support import ProbeTarget

T = {"t": "engine_actions"}
ENV_CREDENTIALS = {
    "type": "ENV_VAR_USERNAME_PASSWORD",
    "username_key": "KALLISTI_TEST_USER",
    "password_key": "KALLISTI_TEST_PASSWORD",
}


def written_forms(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]]


def assert_hidden(
    secrets: list[str], recorder: MemoryRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    record_text = json.dumps(recorder.record, ensure_ascii=False)
    snapshots_text = json.dumps(recorder.snapshots, ensure_ascii=False)
    log_text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for secret in secrets:
        for form in written_forms(secret):
            assert form not in record_text, f"{secret!r} is in the record"
            assert form not in snapshots_text, f"{secret!r} was in the record"
            assert form not in log_text, f"{secret!r} is in the log"


@pytest.fixture
def env_password(monkeypatch: pytest.MonkeyPatch) -> str:
    password = "pw-Zq8!s3cr3t"
    monkeypatch.setenv("KALLISTI_TEST_USER", "chaos-bot")
    monkeypatch.setenv("KALLISTI_TEST_PASSWORD", password)
    return password


async def test_secrets_in_credentials_where_and_echoed_answers_never_reach_the_record(
    probe_target: ProbeTarget,
    env_password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api_key, body_password, client_secret = "ak-7731-key", "body-pw-555", "cs-90210"
    token = "eyJ.fetched-token.sig"
    # The target is both the token endpoint and the probed service, and echoes
    # every secret back: a careless service must not leak them either.
    probe_target.body = {
        "access_token": token,
        "echo": {
            "password": env_password,
            "api_key": api_key,
            "body": body_password,
            "client": client_secret,
            "token": token,
        },
    }
    where: dict[str, Any] = {
        "url": f"{probe_target.url}/orders",
        "method": "POST",
        "headers": {"api_key": api_key},
        "request_body": {"password": body_password, "item": "book"},
        "authentication": {
            "type": "oauth2_token",
            "url": f"{probe_target.url}/token",
            "credentials": ENV_CREDENTIALS,
            "client": {"id": "kallisti", "secret": client_secret},
        },
    }
    plan = make_plan(
        steps_=[
            {
                "do": "cm.http_request",
                "where": where,
                # Fails, so the failure message quotes the (echoed) actual value.
                "expect": [{"operator": "eq", "response.echo.password": "other"}],
            }
        ]
    )

    recorder = await run_trial(plan)

    assert recorder.status is TrialStatus.FAILED
    assert [r["path"] for r in probe_target.requests] == ["/token", "/orders"]
    assert_hidden(
        [env_password, api_key, body_password, client_secret, token], recorder, caplog
    )
    recorded = recorder.record["steps"][0]["step_parameters"]
    assert recorded["headers"] == {"api_key": MASK}
    assert recorded["request_body"] == {"password": MASK, "item": "book"}
    assert recorded["authentication"]["client"] == {"id": "kallisti", "secret": MASK}
    assert recorded["authentication"]["credentials"] == ENV_CREDENTIALS, (
        "the names of the variables stay visible"
    )
    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: ExpectationFailed. Error: Expectation failed: "
        f"response.echo.password eq 'other' does not hold (actual: '{MASK}')."
    )


async def test_a_secret_with_quotes_backslashes_and_unicode_is_hidden_in_every_form(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = 'it\'s "n\\ot"\tsafé'
    monkeypatch.setenv("KALLISTI_TEST_USER", "chaos-bot")
    monkeypatch.setenv("KALLISTI_TEST_PASSWORD", password)
    plan = make_plan(
        steps_=[
            {
                "do": "t.reveal_credentials",
                "where": {"credentials": ENV_CREDENTIALS},
                "expect": [{"operator": "eq", "echo": "other"}],
            }
        ]
    )

    recorder = await run_trial(plan, engine=make_engine(module_overrides=T))

    assert recorder.status is TrialStatus.FAILED
    assert_hidden([password], recorder, caplog)
    assert f"'echo': '{MASK}'" in recorder.messages("steps")[1]


async def test_secret_where_values_are_masked_even_for_other_actions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plan = make_plan(
        steps_=[
            {
                "do": "t.echo",
                "where": {"value": {"api_key": "k-0000-1111", "region": "eu"}},
            }
        ]
    )

    recorder = await run_trial(plan, engine=make_engine(module_overrides=T))

    assert recorder.status is TrialStatus.SUCCEEDED
    assert recorder.record["steps"][0]["step_parameters"] == {
        "value": {"api_key": MASK, "region": "eu"}
    }
    assert recorder.messages("steps")[1] == (
        f"Result: {{'api_key': '{MASK}', 'region': 'eu'}}."
    )


async def test_a_token_file_credential_is_read_and_its_token_hidden(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token-4242\n", encoding="utf-8")
    spec = {"type": "TOKEN_FILE", "token_path": str(token_file)}
    plan = make_plan(
        steps_=[{"do": "t.reveal_credentials", "where": {"credentials": spec}}]
    )

    recorder = await run_trial(plan, engine=make_engine(module_overrides=T))

    assert recorder.status is TrialStatus.SUCCEEDED
    assert_hidden(["file-token-4242"], recorder, caplog)
    assert recorder.messages("steps")[1] == f"Result: {{'echo': '{MASK}', 'note': ''}}."
    assert recorder.record["steps"][0]["step_parameters"]["credentials"] == spec


async def test_the_k8s_service_account_token_comes_from_the_configured_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "sa-token"
    token_file.write_text("sa-token-777", encoding="utf-8")
    engine = make_engine(
        module_overrides=T,
        credential_context=CredentialContext(
            service_account_token_path=str(token_file)
        ),
    )
    plan = make_plan(
        steps_=[
            {
                "do": "t.reveal_credentials",
                "where": {"credentials": {"type": "K8S_SVC_ACC_TOKEN_FILE"}},
                "expect": [{"operator": "regex", "echo": "^sa-token-"}],
            }
        ]
    )

    recorder = await run_trial(plan, engine=engine)

    assert recorder.status is TrialStatus.SUCCEEDED, recorder.record
    assert_hidden(["sa-token-777"], recorder, caplog)


async def test_an_unknown_credential_type_fails_the_step_listing_valid_types(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plan = make_plan(
        steps_=[
            {
                "do": "t.reveal_credentials",
                "where": {"credentials": {"type": "VAULT", "path": "x"}},
            }
        ]
    )

    recorder = await run_trial(plan, engine=make_engine(module_overrides=T))

    assert recorder.status is TrialStatus.FAILED
    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: CredentialError. Error: Invalid credential type: "
        "'VAULT'; use one of ENV_VAR_USERNAME_PASSWORD, K8S_SVC_ACC_TOKEN_FILE, "
        "TOKEN_FILE."
    )


async def test_a_missing_environment_variable_is_named_and_fails_the_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KALLISTI_TEST_USER", "chaos-bot")
    monkeypatch.delenv("KALLISTI_TEST_PASSWORD", raising=False)
    plan = make_plan(
        steps_=[
            {"do": "t.reveal_credentials", "where": {"credentials": ENV_CREDENTIALS}}
        ]
    )

    recorder = await run_trial(plan, engine=make_engine(module_overrides=T))

    assert recorder.messages("steps")[-1] == (
        "Step failed. Type: CredentialError. Error: Environment variable(s) "
        "KALLISTI_TEST_PASSWORD not set on the Kallisti worker; set them where "
        "the worker runs."
    )


async def test_an_unreadable_token_file_fails_the_step_with_credential_error(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "absent"
    plan = make_plan(
        steps_=[
            {
                "do": "t.reveal_credentials",
                "where": {
                    "credentials": {"type": "TOKEN_FILE", "token_path": str(missing)}
                },
            }
        ]
    )

    recorder = await run_trial(plan, engine=make_engine(module_overrides=T))

    assert recorder.status is TrialStatus.FAILED
    last = recorder.messages("steps")[-1]
    assert last.startswith("Step failed. Type: CredentialError. Error: ")
    assert f"cannot read the token file {missing}" in last
