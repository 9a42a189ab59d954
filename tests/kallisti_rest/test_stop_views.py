"""Ported from kallisti-core tests/kallisticore/views/test_stop.py (1.3.7)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from kallisti_objects import Api

PARAMETERS = {"org": "MY-ORG", "app_name": "hello-world"}


@pytest.fixture
def experiment(objects: Api) -> dict[str, Any]:
    """TestStopAPI.setUp."""
    where = {"app_name": "{{app_name}}", "org_name": "{{org}}"}
    return objects.create_experiment(
        name="one-action",
        description="one action description",
        steps=[{"step": "name", "do": "cf.stop_app", "where": where}],
        post_steps=[{"step": "name", "do": "cf.start_app", "where": where}],
    )


def _stop(client: httpx.Client, trial_id: str) -> httpx.Response:
    return client.put(f"/api/v1/trial/{trial_id}/stop")


# TestStopAPI.test_stop_status
def test_stop_status(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial = objects.create_trial(experiment, parameters=PARAMETERS)

    response = _stop(kallisti, trial["id"])

    assert response.status_code == 200
    # A2: a stop is honoured at once; a trial no worker has claimed is already
    # `Stopped` when the stop is answered (Kallisti: always `Stop Initiated`).
    assert response.json()["status"] in ("Stop Initiated", "Stopped")


# TestStopAPI.test_trial_already_started
def test_trial_already_started(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial = objects.create_trial(experiment, parameters=PARAMETERS)
    objects.set_trial(trial, status="Stop Initiated")

    response = _stop(kallisti, trial["id"])

    assert response.status_code == 200
    assert response.json()["status"] == "Stop Initiated"


# TestStopAPI.test_trial_not_started
def test_trial_not_started(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial = objects.create_trial(experiment, parameters=PARAMETERS)
    objects.set_trial(trial, status="Stopped")

    response = _stop(kallisti, trial["id"])

    assert response.status_code == 403
    assert (
        response.json()["message"]
        == "Trial has either not started or already set to stop."
    )


# TestStopAPI.test_no_trial_id
def test_no_trial_id(kallisti: httpx.Client) -> None:
    response = _stop(kallisti, "test-trial-id")

    assert response.status_code == 404
