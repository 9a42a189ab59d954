"""The busiest answers are written from plain data in one call, not through
models: POST /experiment and GET /trial/{id}. Their bytes must be those the
models give, secrets masked and warnings listed the same way."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from kallisti.api.masking import masked_experiment, masked_trial
from kallisti.api.responses import model_response
from kallisti.api.routes.validation import ExperimentChecker
from kallisti.store import Page, Store, TrialFilter
from support import ServiceThread, wait_for_trial

PROBE = {
    "step": "Probe",
    "do": "cm.http_probe",
    "where": {"url": "http://127.0.0.1:1/x"},
}
SECRET_STEP = {
    "step": "Call with a password",
    "do": "cm.http_probe",
    "where": {
        "url": "http://127.0.0.1:1/x",
        "headers": {"X-Db-Password": "{{ db_password }}", "Authorization": "Bearer t"},
    },
    "expect": [{"operator": "eq", "status_code": 200}],
    "timeout_seconds": 2.5,
}
BODIES: dict[str, dict[str, Any]] = {
    "least": {"name": "least", "steps": []},
    "secrets everywhere": {
        "name": "secrets",
        "description": "équipe ✓",
        "parameters": {"db_password": "hunter2", "region": "eu", "n": 1.5},
        "metadata": {"team": "sre", "api_key": "k-991", "nested": {"token": "t"}},
        "pre_steps": [PROBE],
        "steps": [SECRET_STEP, {**PROBE, "step": ""}],
        "post_steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
    },
    "warnings": {
        "name": "warned",
        "steps": [
            {"do": "cm.no_such_action", "where": {}},
            {"do": "nosuchmodule.act", "where": {"x": "{{ undefined }}"}},
        ],
    },
    "safety fields": {
        "name": "guarded",
        "steps": [PROBE],
        "guards": [{**PROBE, "interval_seconds": 0.5, "tolerance": 2}],
        "max_duration_seconds": 30,
        "max_concurrent_trials": 2,
    },
}


@pytest.fixture
def checker(service: ServiceThread) -> ExperimentChecker:
    return ExperimentChecker(service.service.settings)


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_created_experiment_is_answered_as_its_model_would_be(
    api: httpx.Client,
    store: Store,
    checker: ExperimentChecker,
    backend: str,
    body: dict[str, Any],
) -> None:
    response = api.post("/api/v1/experiment", json=body)
    assert response.status_code == 201, response.text

    stored = store.experiments.get(uuid.UUID(response.json()["id"]))
    expected = bytes(model_response(checker.checked(masked_experiment(stored))).body)
    if backend == "sqlite":
        assert response.content == expected
    else:  # jsonb keeps objects' keys in its own order: read back, they differ
        assert json.loads(response.content) == json.loads(expected)
    assert b"hunter2" not in response.content and b"k-991" not in response.content


def test_a_trial_by_id_is_answered_as_its_model_would_be(
    api: httpx.Client, store: Store
) -> None:
    experiment = api.post("/api/v1/experiment", json=BODIES["secrets everywhere"])
    assert experiment.status_code == 201, experiment.text
    started = api.post(
        "/api/v1/trial",
        json={
            "experiment": experiment.json()["id"],
            "parameters": {"db_password": "s3cret-override"},
            "metadata": {"ticket_token": "tk-1"},
            "ticket": {"password": "p-2", "id": "CHG-1"},
        },
    )
    assert started.status_code == 201, started.text
    trial_id = started.json()["id"]
    wait_for_trial(api, trial_id)

    response = api.get(f"/api/v1/trial/{trial_id}")

    assert response.status_code == 200
    # The model as the store's model path reads it (SQLAlchemy's own types).
    (stored,) = store.trials.list(
        TrialFilter(experiment_id=uuid.UUID(experiment.json()["id"])), Page()
    )[0]
    assert response.content == model_response(masked_trial(stored)).body
    for secret in (b"s3cret-override", b"tk-1", b"p-2"):
        assert secret not in response.content
