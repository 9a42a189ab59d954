"""Ported from kallisti-core tests/kallisticore/views/test_experiment.py (1.3.7).

`ExperimentSerializer(experiment).data` is the experiment as the API answered
its creation: the same serializer writes both."""

from __future__ import annotations

from uuid import uuid4

import httpx
from kallisti_objects import Api

EXPERIMENTS = "/api/v1/experiment"


# TestExperimentListAPI.test_list_empty_experiments
def test_list_empty_experiments(kallisti: httpx.Client) -> None:
    response = kallisti.get(EXPERIMENTS)

    assert response.status_code == 200
    assert response.json() == []


# TestExperimentListAPI.test_list_experiments
def test_list_experiments(kallisti: httpx.Client, objects: Api) -> None:
    experiment1 = objects.create_experiment(
        name="kill-my-web-cf-app-instance", description="HA experiment"
    )
    experiment2 = objects.create_experiment(
        name="stop-my-web-cf-app", description="DR experiment"
    )

    response = kallisti.get(EXPERIMENTS)

    assert response.status_code == 200
    response_data = response.json()
    assert len(response_data) == 2
    assert experiment1 in response_data
    assert experiment2 in response_data


# TestExperimentGetAPI.test_get_details_with_invalid_id
def test_get_details_with_invalid_id(kallisti: httpx.Client) -> None:
    response = kallisti.get(f"{EXPERIMENTS}/{uuid4()}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# TestExperimentGetAPI.test_get_details
def test_get_details(kallisti: httpx.Client, objects: Api) -> None:
    experiment = objects.create_experiment(
        name="kill-my-web-cf-app-instance", description="HA experiment"
    )

    response = kallisti.get(f"{EXPERIMENTS}/{experiment['id']}")

    assert response.status_code == 200
    assert response.json() == experiment


# TestExperimentCreateAPI.test_post_with_valid_details
def test_post_with_valid_details(kallisti: httpx.Client, objects: Api) -> None:
    data = {
        "name": "go-redirection-would-work-when-database-dies",
        "description": "This experiment would prove go redirection "
        "would be resilient to DB failures",
        "parameters": {},
        "steps": [],
    }

    response = kallisti.post(EXPERIMENTS, json=data)

    assert response.status_code == 201
    assert objects.count(EXPERIMENTS) == 1


# TestExperimentCreateAPI.test_post_with_invalid_data
def test_post_with_invalid_data(kallisti: httpx.Client, objects: Api) -> None:
    response = kallisti.post(EXPERIMENTS, json={})

    assert response.status_code == 400
    assert objects.count(EXPERIMENTS) == 0


# TestExperimentDeleteAPI.test_delete_with_invalid_id
def test_delete_with_invalid_id(kallisti: httpx.Client) -> None:
    response = kallisti.delete(f"{EXPERIMENTS}/{uuid4()}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# TestExperimentDeleteAPI.test_delete
def test_delete(kallisti: httpx.Client, objects: Api) -> None:
    experiment = objects.create_experiment(
        name="kill-my-web-cf-app-instance", description="HA experiment"
    )

    response = kallisti.delete(f"{EXPERIMENTS}/{experiment['id']}")

    assert response.status_code == 204
    assert objects.count(EXPERIMENTS) == 0


_PATCH = {
    "description": "This experiment would prove go "
    "redirection would be resilient to DB "
    "failures"
}


# TestExperimentPatchAPI.test_patch_with_invalid_id
def test_patch_with_invalid_id(kallisti: httpx.Client) -> None:
    response = kallisti.patch(f"{EXPERIMENTS}/{uuid4()}", json=_PATCH)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# TestExperimentPatchAPI.test_patch
def test_patch(kallisti: httpx.Client, objects: Api) -> None:
    experiment = objects.create_experiment(
        name="kill-my-web-cf-app-instance", description="HA experiment"
    )

    response = kallisti.patch(f"{EXPERIMENTS}/{experiment['id']}", json=_PATCH)

    assert response.status_code == 200
    assert objects.count(EXPERIMENTS) == 1
