"""POST /trial/{id}/revert answers for every trial: 404 unknown, 409 running,
an empty answer for a trial that left nothing (reverts with real faults are in
the module tests: k8s/test_fault_ledger.py, test_aws_module.py, test_cf_module.py).
"""

from __future__ import annotations

import uuid

import httpx

from support import wait_for_trial


def _trial(api: httpx.Client, wait: float) -> str:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": "revert answers",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": wait}}],
        },
    )
    assert experiment.status_code == 201, experiment.text
    trial = api.post("/api/v1/trial", json={"experiment": experiment.json()["id"]})
    assert trial.status_code == 201, trial.text
    return str(trial.json()["id"])


def test_revert_of_an_unknown_trial_is_404_and_of_a_running_one_409(
    api: httpx.Client,
) -> None:
    unknown = api.post(f"/api/v1/trial/{uuid.uuid4()}/revert")
    assert unknown.status_code == 404

    running = _trial(api, 30)
    wait_for_trial(api, running, until=lambda t: t["status"] == "In Progress")
    refused = api.post(f"/api/v1/trial/{running}/revert")
    assert refused.status_code == 409, refused.text
    assert "still In Progress" in refused.json()["detail"]
    api.put(f"/api/v1/trial/{running}/stop").raise_for_status()
    wait_for_trial(api, running)


def test_revert_of_a_trial_that_left_nothing_answers_empty(api: httpx.Client) -> None:
    trial = wait_for_trial(api, _trial(api, 0))
    assert trial["status"] == "Succeeded" and trial["residual_faults"] is None

    answer = api.post(f"/api/v1/trial/{trial['id']}/revert")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "trial": trial["id"],
        "reverted": [],
        "already_clear": [],
        "failed": [],
        "residual_faults": [],
    }
