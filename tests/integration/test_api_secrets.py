"""Secrets never appear in API answers, trial records or the service's logs."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest

from kallisti.domain.secrets import MASK
from kallisti.store import Store
from support import ProbeTarget, wait_for_trial

SECRET = "hunter2-s3cr3t-value"
API_KEY = "ak-0123456789abcdef"


def _experiment(probe_target: ProbeTarget) -> dict[str, object]:
    return {
        "name": "secrets",
        "parameters": {"db_password": SECRET},
        "steps": [
            {
                "do": "cm.http_request",
                "where": {
                    "url": probe_target.url,
                    "method": "POST",
                    "headers": {"X-Db-Password": "{{ db_password }}"},
                    "request_body": {"api_key": API_KEY, "note": "plain"},
                },
            }
        ],
    }


def test_secret_values_never_leave_the_service(
    api: httpx.Client, probe_target: ProbeTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    probe_target.body = {"echo": SECRET, "key": API_KEY}  # a target that echoes
    created = api.post("/api/v1/experiment", json=_experiment(probe_target))
    experiment_id = created.json()["id"]
    trial = api.post(
        "/api/v1/trial", json={"experiment": experiment_id, "parameters": {}}
    ).json()
    finished = wait_for_trial(api, trial["id"])

    answers = [
        created.text,
        api.get(f"/api/v1/experiment/{experiment_id}").text,
        api.get("/api/v1/experiment").text,
        api.get(f"/api/v1/trial/{trial['id']}").text,
        api.get("/api/v1/trial", params={"experiment": experiment_id}).text,
        json.dumps(finished),
        caplog.text,
    ]
    assert finished["status"] == "Succeeded"
    for answer in answers:
        assert SECRET not in answer
        assert API_KEY not in answer
    # The target did receive the real values: masking is for the record only.
    assert probe_target.requests[0]["headers"]["X-Db-Password"] == SECRET
    assert API_KEY in probe_target.requests[0]["body"]


def test_a_masked_experiment_sent_back_keeps_its_secrets(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = api.post("/api/v1/experiment", json=_experiment(probe_target)).json()
    assert experiment["parameters"]["db_password"] == "*****"

    experiment["name"] = "renamed"
    body = {
        key: experiment[key]
        for key in ("name", "description", "metadata", "parameters", "steps")
    }
    replaced = api.put(f"/api/v1/experiment/{experiment['id']}", json=body)
    assert replaced.status_code == 200, replaced.text
    trial = api.post("/api/v1/trial", json={"experiment": experiment["id"]}).json()
    assert wait_for_trial(api, trial["id"])["status"] == "Succeeded"

    sent = probe_target.requests[-1]
    assert sent["headers"]["X-Db-Password"] == SECRET
    assert API_KEY in sent["body"]


def test_secret_metadata_is_masked_in_answers_and_kept_when_sent_back(
    api: httpx.Client, store: Store
) -> None:
    created = api.post(
        "/api/v1/experiment",
        json={
            "name": "metadata secrets",
            "metadata": {"team": "ops", "api_key": "meta-key-5521"},
            "parameters": {"pw": "templated-pw-8812"},
            "steps": [
                {
                    "do": "cm.http_probe",
                    "where": {
                        "url": "http://127.0.0.1:9/",
                        "headers": {"Authorization": "Bearer {{ pw }}"},
                    },
                }
            ],
        },
    ).json()

    assert created["metadata"] == {"team": "ops", "api_key": MASK}
    assert created["parameters"] == {"pw": MASK}
    editable = ("name", "metadata", "parameters", "steps")
    replaced = api.put(
        f"/api/v1/experiment/{created['id']}",
        json={field: created[field] for field in editable},
    )
    assert replaced.status_code == 200, replaced.text
    stored = store.experiments.get(uuid.UUID(created["id"]))
    assert stored.metadata["api_key"] == "meta-key-5521"
    assert stored.parameters["pw"] == "templated-pw-8812"

    trial = api.post(
        "/api/v1/trial",
        json={
            "experiment": created["id"],
            "parameters": {"pw": "trial-pw-9931"},
            "metadata": {"secrets": {"db": "trial-db-7710"}},
            "ticket": {"token": "ticket-tok-4410"},
        },
    ).json()
    read = api.get(f"/api/v1/trial/{trial['id']}").json()
    for answer in (trial, read):
        assert answer["parameters"] == {"pw": MASK}
        assert answer["metadata"]["secrets"] == {"db": MASK}
        assert answer["ticket"] == {"token": MASK}
