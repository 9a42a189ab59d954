"""Ported from kallisti-core tests/kallisticore/serializers/ (1.3.7):
test_experiment_serializer.py, test_trial_serializer.py and
test_trial_schedule_serializer.py. A serializer's `.data` is what the API
answers for the object.

The originals set `created_by`/`initiated_by` with the model; through the API
Kallisti (without access control) writes the caller, `anonymous_user`, and so
do the ports.
"""

from __future__ import annotations

import httpx
from kallisti_objects import Api

ANONYMOUS = "anonymous_user"


# test_experiment_serializer.py: TestExperimentSerializer.test_experiment_fetch
def test_experiment_fetch(kallisti: httpx.Client, objects: Api) -> None:
    name = "kill-hello-world-cf-app-instance"
    description = "detailed text description"
    metadata = {"meta_data": "123456"}
    parameters = {"space": "dev", "app_name": "hello-world", "org": "MY-ORG"}
    pre_steps = [
        {
            "step": "name",
            "do": "cm.http_probe",
            "where": {"url": "https://hello-world.test.com"},
        }
    ]
    steps = [
        {"do": "cf.stop_app", "where": {"space": "dev", "app_name": "hello-world"}}
    ]
    post_steps = [
        {"do": "cf.start_app", "where": {"space": "dev", "app_name": "hello-world"}}
    ]
    experiment = objects.create_experiment(
        name=name,
        description=description,
        metadata=metadata,
        parameters=parameters,
        pre_steps=pre_steps,
        steps=steps,
        post_steps=post_steps,
    )

    experiment_data = kallisti.get(f"/api/v1/experiment/{experiment['id']}").json()

    assert experiment_data["id"] is not None
    assert experiment_data["name"] == name
    assert experiment_data["description"] == description
    assert experiment_data["pre_steps"] == pre_steps
    assert experiment_data["steps"] == steps
    assert experiment_data["post_steps"] == post_steps
    assert experiment_data["parameters"] == parameters
    assert experiment_data["metadata"] == metadata
    assert experiment_data["created_by"] == ANONYMOUS


# test_trial_serializer.py: TestTrialSerializer.test_trial_serialization
def test_trial_serialization(kallisti: httpx.Client, objects: Api) -> None:
    experiment = objects.create_experiment(
        name="kill-my-web-cf-app-instance",
        description="detailed text description",
        parameters={"space": "dev", "org": "my-org"},
        metadata={"job_id": "12345"},
        # A3: Kallisti stores a `do` of 'Kill CF Instance', which could never
        # run; this project refuses it at creation, so the step names an action.
        steps=[
            {
                "do": "cf.kill_instance",
                "where": {
                    "space_name": "dev",
                    "org_name": "my-org",
                    "instances_to_kill": 0,
                },
            }
        ],
    )
    trial = objects.create_trial(experiment, metadata={"trial_name": "hello_world"})
    objects.set_trial(trial, trial_record={"steps": [{"logs": ["test", "test1"]}]})

    data = kallisti.get(f"/api/v1/trial/{trial['id']}").json()

    # A1: the answer carries more fields than Kallisti's 11; all 11 are there.
    kallisti_fields = {
        "id",
        "experiment",
        "metadata",
        "parameters",
        "ticket",
        "trial_record",
        "status",
        "executed_at",
        "completed_at",
        "initiated_by",
        "initiated_from",
    }
    assert len(kallisti_fields) == 11
    assert kallisti_fields <= set(data)
    assert data["id"] is not None
    assert data["experiment"] == experiment["id"]
    assert data["parameters"] == {}
    assert data["ticket"] == {}
    assert data["metadata"] == {"job_id": "12345", "trial_name": "hello_world"}
    assert data["trial_record"] == {"steps": [{"logs": ["test", "test1"]}]}
    assert data["status"] == "Scheduled"
    assert data["executed_at"] is None
    assert data["completed_at"] is None
    assert data["initiated_by"] == ANONYMOUS


# test_trial_schedule_serializer.py: TestTrialScheduleSerializer.test_retrieval
def test_retrieval(kallisti: httpx.Client, objects: Api) -> None:
    recurrence_pattern = "* * * * *"
    recurrence_count = 5
    parameters = {"test-param": "test-pram-value"}
    ticket = {"test-ticket": "test-ticket-value"}
    metadata = {"test-id": "123456"}
    schedule_metadata = {"recurrence": "weekly"}
    experiment = objects.create_experiment(metadata=metadata)
    trial_schedule = objects.create_schedule(
        experiment,
        metadata=schedule_metadata,
        recurrence_pattern=recurrence_pattern,
        recurrence_count=recurrence_count,
        parameters=parameters,
        ticket=ticket,
    )
    trial = objects.create_trial(experiment)
    # `trial_schedule.trials.add(trial)`: what the worker does when it fires.
    objects.set_trial(trial, schedule_id=trial_schedule["id"])

    data = kallisti.get(
        f"/api/v1/experiment/{experiment['id']}/schedule/{trial_schedule['id']}"
    ).json()

    # A1: the answer carries more fields than Kallisti's 11; all 11 are there.
    kallisti_fields = {
        "id",
        "experiment_id",
        "parameters",
        "metadata",
        "ticket",
        "recurrence_pattern",
        "recurrence_count",
        "recurrence_left",
        "created_by",
        "created_at",
        "trials",
    }
    assert len(kallisti_fields) == 11
    assert kallisti_fields <= set(data)
    assert data["id"] is not None
    assert data["experiment_id"] == experiment["id"]
    assert data["metadata"] == {"test-id": "123456", "recurrence": "weekly"}
    assert data["parameters"] == parameters
    assert data["ticket"] == ticket
    assert data["recurrence_pattern"] == recurrence_pattern
    assert data["recurrence_count"] == recurrence_count
    assert data["recurrence_left"] == recurrence_count
    assert data["created_at"] is not None
    assert data["created_by"] == ANONYMOUS
    assert data["trials"][0]["id"] == str(trial["id"])
    assert data["trials"][0]["status"] == "Scheduled"
    assert data["trials"][0]["executed_at"] is None
