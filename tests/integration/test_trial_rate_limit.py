"""KALLISTI_RATE_LIMIT_TRIALS: each caller may start so many trials per window;
past it, 429 with Retry-After. Callers here are machine tokens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from kallisti.auth.tokens import MachineTokens
from kallisti.domain.tokens import MachineTokenCreate
from kallisti.settings import Settings
from support import ServiceThread, running_service, service_settings

WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}


@pytest.fixture(scope="module")
def limited(database_urls: dict[str, str], backend: str) -> Iterator[ServiceThread]:
    settings = service_settings(
        database_urls[backend],
        run_worker=False,
        auth_enabled=True,
        rate_limit_trials="3/minute",
    )
    with running_service(settings) as service:
        yield service


def _caller(service: ServiceThread, role: str = "editor") -> dict[str, str]:
    tokens = MachineTokens(service.service.store.tokens)
    request = MachineTokenCreate(name=f"rl-{uuid.uuid4().hex[:8]}", role=role)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {tokens.create(request, 'test').token}"}


def test_a_caller_past_the_limit_gets_429_with_retry_after(
    limited: ServiceThread,
) -> None:
    caller, other = _caller(limited), _caller(limited)
    with httpx.Client(base_url=limited.url, timeout=30, verify=False) as api:
        experiment = api.post(
            "/api/v1/experiment",
            json={"name": "limited", "steps": [WAIT]},
            headers=caller,
        ).json()
        body = {"experiment": experiment["id"]}
        started = [
            api.post("/api/v1/trial", json=body, headers=caller).status_code
            for _ in range(3)
        ]
        refused = api.post("/api/v1/trial", json=body, headers=caller)
        someone_else = api.post("/api/v1/trial", json=body, headers=other)

    assert started == [201, 201, 201]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "3/minute" in refused.json()["detail"]
    assert someone_else.status_code == 201


@pytest.mark.parametrize("rate", ["30", "x/minute", "0/minute", "5/fortnight"])
def test_a_malformed_rate_is_refused_at_start(rate: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        Settings(rate_limit_trials=rate)
