"""What a trial would touch, over real HTTP on SQLite and PostgreSQL:
`POST /experiment/targets` before a trial, `GET /trial/{id}/targets` for one,
each step with its resolved `do`, masked arguments and target paths, or why
its targets cannot be named."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

SECRET = "hunter22-cluster"
EXPERIMENT = {
    "name": "what a trial touches",
    "parameters": {"app": "web", "ns": "shop", "cluster_password": SECRET},
    "pre_steps": [
        {"do": "k8s.list_pods", "where": {"label_selector": "app={{ app }}"}}
    ],
    "steps": [
        {
            "step": "Kill web pods",
            "do": "k8s.terminate_pods",
            "where": {
                "label_selector": "app={{ app }}",
                "ns": "{{ ns }}",
                "cluster_name": "prod-{{ cluster_password }}",
                "token": "a-token-value",
            },
        },
        {"do": "k8s.terminate_pods", "where": {"label_selector": "{{ nope }}"}},
        {"do": "k8s.no_such_action", "where": {}},
    ],
    "post_steps": [
        {
            "do": "aws.ec2.stop_instances",
            "where": {"instance_ids": ["i-1"], "region": "eu-west-1"},
        }
    ],
}


def _experiment(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("/api/v1/experiment", json=EXPERIMENT)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_preview_names_each_steps_targets_with_the_trials_parameters(
    api: httpx.Client,
) -> None:
    experiment = _experiment(api)

    answer = api.post(
        "/api/v1/experiment/targets",
        json={"experiment": experiment["id"], "parameters": {"ns": "payments"}},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert SECRET not in answer.text and "a-token-value" not in answer.text
    probe, kill, missing, unknown, stop = body["steps"]
    assert probe == {
        "section": "pre_steps",
        "index": 0,
        "step": None,
        "do": "k8s.list_pods",
        "where": {"label_selector": "app=web"},
        "changes": False,
        "targets": [],
        "problem": None,
    }
    assert kill["step"] == "Kill web pods"
    assert kill["where"] == {
        "label_selector": "app=web",
        "ns": "payments",
        "cluster_name": "prod-*****",
        "token": "*****",
    }
    assert kill["targets"] == ["k8s/prod-*****/payments/selector:app=web"]
    assert (missing["changes"], missing["targets"]) == (True, [])
    assert "no value for the parameter(s) nope" in missing["problem"]
    assert unknown["changes"] is None
    assert "Could not find function 'k8s.no_such_action'" in unknown["problem"]
    assert (stop["section"], stop["targets"]) == ("post_steps", ["aws/eu-west-1/i-1"])
    assert body["targets"] == [
        "aws/eu-west-1/i-1",
        "k8s/prod-*****/payments/selector:app=web",
    ]


def test_a_trials_targets_come_from_the_experiment_it_ran(api: httpx.Client) -> None:
    experiment = _experiment(api)
    trial = api.post(
        "/api/v1/trial",
        json={
            "experiment": experiment["id"],
            "parameters": {"app": "cart"},
            "dry_run": True,
        },
    ).json()
    changed = {**EXPERIMENT, "steps": [], "post_steps": []}
    assert api.put(f"/api/v1/experiment/{experiment['id']}", json=changed).is_success

    answer = api.get(f"/api/v1/trial/{trial['id']}/targets")

    assert answer.status_code == 200, answer.text
    assert answer.json()["targets"] == [
        "aws/eu-west-1/i-1",
        "k8s/prod-*****/shop/selector:app=cart",
    ]
    assert SECRET not in answer.text
    now = api.post("/api/v1/experiment/targets", json={"experiment": experiment["id"]})
    assert now.json()["targets"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "experiment"),
        ({"experiment": "not-an-id"}, "experiment"),
        (
            {"experiment": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "parameters": []},
            "parameters",
        ),
        ({"experiment": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "dry": 1}, "dry"),
    ],
)
def test_a_bad_preview_request_is_a_400_naming_the_field(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    answer = api.post("/api/v1/experiment/targets", json=body)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_unknown_experiments_and_trials_have_no_targets(api: httpx.Client) -> None:
    unknown = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    preview = api.post("/api/v1/experiment/targets", json={"experiment": unknown})
    trial = api.get(f"/api/v1/trial/{unknown}/targets")
    assert (preview.status_code, preview.json()) == (404, {"detail": "Not found."})
    assert (trial.status_code, trial.json()) == (404, {"detail": "Not found."})
