"""Target leases with real trials on the loopback cluster: two trials whose
targets overlap never run their chaos at the same time (the later one waits,
`Scheduled`, saying for what); a trial on a disjoint target is not held up."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from k8s_cluster import LoopbackCluster
from support import wait_for_trial


def _egress_experiment(api: httpx.Client, access: dict[str, Any]) -> str:
    where = {**access, "ns": "{{ ns }}"}
    body = {
        "name": f"egress-{uuid.uuid4().hex[:8]}",
        "parameters": {"ns": "default"},
        "steps": [
            {"do": "k8s.deny_all_egress", "where": where},
            {"do": "cm.wait", "where": {"time_in_seconds": 1.5}},
        ],
        "post_steps": [{"do": "k8s.remove_deny_all_egress", "where": where}],
    }
    response = api.post("/api/v1/experiment", json=body)
    assert response.status_code == 201, response.text
    experiment_id: str = response.json()["id"]
    return experiment_id


def _start(api: httpx.Client, experiment_id: str, **fields: Any) -> str:
    response = api.post("/api/v1/trial", json={"experiment": experiment_id, **fields})
    assert response.status_code == 201, response.text
    trial_id: str = response.json()["id"]
    return trial_id


def test_overlapping_trials_take_turns_and_disjoint_ones_run_alongside(
    api: httpx.Client, cluster: LoopbackCluster, access: dict[str, Any]
) -> None:
    experiment_id = _egress_experiment(api, access)
    first = _start(api, experiment_id)
    wait_for_trial(api, first, until=lambda t: bool(t["trial_record"].get("steps")))

    second = _start(api, experiment_id)
    waiting = wait_for_trial(api, second, until=lambda t: bool(t["waiting_for"]))
    elsewhere = _start(api, experiment_id, parameters={"ns": "kube-system"})
    running_beside = wait_for_trial(
        api, elsewhere, until=lambda t: bool(t["trial_record"].get("steps"))
    )

    assert waiting["status"] == "Scheduled"
    assert f"held by trial {first}" in waiting["waiting_for"]
    assert "/default" in waiting["waiting_for"]
    assert api.get(f"/api/v1/trial/{first}").json()["status"] == "In Progress"
    assert running_beside["status"] == "In Progress"

    done = [wait_for_trial(api, t) for t in (first, second, elsewhere)]
    assert [t["status"] for t in done] == ["Succeeded"] * 3
    # The second began its chaos only once the first had finished.
    assert done[1]["executed_at"] >= done[0]["completed_at"]
    assert done[1]["waiting_for"] is None
