"""Ported from kallisti-core tests/kallisticore/views/test_trial_schedule.py
(1.3.7). `TrialScheduleSerializer(trial_schedule).data` is the schedule as the
API answered its creation."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from kallisti_objects import Api


def _schedules(experiment_id: object) -> str:
    return f"/api/v1/experiment/{experiment_id}/schedule"


@pytest.fixture
def experiment(objects: Api) -> dict[str, Any]:
    return objects.create_experiment()


# TestTrialScheduleListAPI.test_list_empty_schedule
def test_list_empty_schedule(
    kallisti: httpx.Client, experiment: dict[str, Any]
) -> None:
    response = kallisti.get(_schedules(experiment["id"]))

    assert response.status_code == 200
    assert response.json() == []


# TestTrialScheduleListAPI.test_list_schedules
def test_list_schedules(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial_schedule = objects.create_schedule(experiment, recurrence_pattern="* * * * *")

    response = kallisti.get(_schedules(experiment["id"]))

    assert response.status_code == 200
    response_data = response.json()
    assert len(response_data) == 1
    assert trial_schedule in response_data


# TestTrialScheduleListAPI.test_list_schedules_with_deleted_experiment
def test_list_schedules_with_deleted_experiment(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    objects.create_schedule(experiment, recurrence_pattern="* * * * *")
    objects.delete_experiment(experiment)

    response = kallisti.get(_schedules(experiment["id"]))

    assert response.status_code == 200
    response_data = response.json()
    assert len(response_data) == 0


# TestTrialScheduleDetailAPI.test_detail_with_non_existing_pk
def test_detail_with_non_existing_pk(
    kallisti: httpx.Client, experiment: dict[str, Any]
) -> None:
    response = kallisti.get(f"{_schedules(experiment['id'])}/{uuid4()}")

    assert response.status_code == 404


# TestTrialScheduleDetailAPI.test_detail_with_non_existing_experiment_id
def test_detail_with_non_existing_experiment_id(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial_schedule = objects.create_schedule(experiment, recurrence_pattern="* * * * *")

    response = kallisti.get(f"{_schedules(uuid4())}/{trial_schedule['id']}")

    assert response.status_code == 404


# TestTrialScheduleDetailAPI.test_detail_entry
def test_detail_entry(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial_schedule = objects.create_schedule(experiment, recurrence_pattern="* * * * *")

    response = kallisti.get(f"{_schedules(experiment['id'])}/{trial_schedule['id']}")

    assert response.status_code == 200
    response_data = [response.json()]
    assert len(response_data) == 1
    assert trial_schedule in response_data


# TestTrialScheduleDetailAPI.test_detail_with_soft_deleted_experiment
def test_detail_with_soft_deleted_experiment(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    trial_schedule = objects.create_schedule(experiment, recurrence_pattern="* * * * *")
    objects.delete_experiment(experiment)

    response = kallisti.get(f"{_schedules(experiment['id'])}/{trial_schedule['id']}")

    assert response.status_code == 200
    # A1: this project's `next_fire_at` turns null, as the schedule no longer
    # fires; Kallisti's fields are unchanged.
    response_data = [_without_next_fire(response.json())]
    assert len(response_data) == 1
    assert _without_next_fire(trial_schedule) in response_data


def _without_next_fire(schedule: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schedule.items() if key != "next_fire_at"}


# TestTrialScheduleCreateAPI.test_create
def test_create(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    data = {"recurrence_pattern": "* * * * *"}

    response = kallisti.post(_schedules(experiment["id"]), json=data)

    assert response.status_code == 201
    assert objects.count(_schedules(experiment["id"])) == 1


# TestTrialScheduleCreateAPI.test_create_with_invalid_details
def test_create_with_invalid_details(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    data = {"recurrence_pattern": "invalid-cron-pattern"}

    response = kallisti.post(_schedules(experiment["id"]), json=data)

    assert response.status_code == 400
    assert objects.count(_schedules(experiment["id"])) == 0


# TestTrialScheduleCreateAPI.test_create_with_invalid_experiment_id
def test_create_with_invalid_experiment_id(kallisti: httpx.Client) -> None:
    data = {"recurrence_pattern": "* * * * *"}

    response = kallisti.post(_schedules("non-existing-experiment-id"), json=data)

    assert response.status_code == 404


# TestTrialScheduleCreateAPI.test_create_on_deleted_experiment
def test_create_on_deleted_experiment(
    kallisti: httpx.Client, objects: Api, experiment: dict[str, Any]
) -> None:
    data = {"recurrence_pattern": "* * * * *"}
    objects.delete_experiment(experiment)

    response = kallisti.post(_schedules(experiment["id"]), json=data)

    assert response.status_code == 404
    assert objects.count(_schedules(experiment["id"])) == 0


# TestTrialScheduleDeleteAPI.test_delete
def test_delete(kallisti: httpx.Client, objects: Api) -> None:
    experiment = objects.create_experiment()
    trial_schedule = objects.create_schedule(experiment, recurrence_pattern="* * * * *")

    response = kallisti.delete(f"{_schedules(experiment['id'])}/{trial_schedule['id']}")

    assert response.status_code == 204
    assert objects.count(_schedules(experiment["id"])) == 0


# TestTrialScheduleDeleteAPI.test_delete_with_invalid_id
def test_delete_with_invalid_id(kallisti: httpx.Client) -> None:
    response = kallisti.delete(f"{_schedules(uuid4())}/{uuid4()}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


_PATCH = {"recurrence_pattern": "5 * * * *"}


# TestTrialSchedulePatchAPI.test_patch_with_invalid_id
def test_patch_with_invalid_id(kallisti: httpx.Client) -> None:
    response = kallisti.patch(f"{_schedules(uuid4())}/{uuid4()}", json=_PATCH)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# TestTrialSchedulePatchAPI.test_patch
def test_patch(kallisti: httpx.Client, objects: Api) -> None:
    experiment = objects.create_experiment()
    trial_schedule = objects.create_schedule(experiment, recurrence_pattern="* * * * *")

    response = kallisti.patch(
        f"{_schedules(experiment['id'])}/{trial_schedule['id']}", json=_PATCH
    )

    assert response.status_code == 200
    assert objects.count(_schedules(experiment["id"])) == 1
    assert response.json()["recurrence_pattern"] == "5 * * * *"
