"""Guards and duration limits with real trials and real HTTP probes: a guard
whose target turns unhealthy stops the trial (post steps run,
`stop_reason: "guard:<name>"`); a trial past its maximum duration is stopped."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from support import ProbeTarget, wait_for_trial


def _experiment(api: httpx.Client, **fields: Any) -> str:
    body = {
        "name": f"guarded-{uuid.uuid4().hex[:8]}",
        "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 600}}],
        **fields,
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


def _health_guard(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "step": "Checkout health",
        "do": "cm.http_probe",
        "where": {"url": url},
        "expect": [{"operator": "eq", "status_code": 200}],
        "interval_seconds": 0.1,
        **fields,
    }


def _undo(target: ProbeTarget) -> dict[str, Any]:
    return {"do": "cm.http_request", "where": {"url": f"{target.url}/undo"}}


def test_guard_whose_target_turns_unhealthy_stops_the_trial_after_post_steps(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment_id = _experiment(
        api,
        guards=[_health_guard(f"{probe_target.url}/health", tolerance=1)],
        post_steps=[_undo(probe_target)],
    )
    trial_id = _start(api, experiment_id)
    wait_for_trial(api, trial_id, until=lambda t: "guards" in t["trial_record"])

    probe_target.status = 503

    trial = wait_for_trial(api, trial_id)
    assert (trial["status"], trial["stop_reason"]) == (
        "Stopped",
        "guard:Checkout health",
    )
    assert any(r["path"] == "/undo" for r in probe_target.requests)
    assert len(trial["trial_record"]["post_steps"]) == 1
    runs = trial["trial_record"]["guards"]
    assert all(run["step_name"] == "Checkout health" for run in runs)
    failed = [run for run in runs if "Step failed" in " ".join(run["logs"])]
    assert len(failed) == 2  # tolerance 1: the second failure in a row trips
    assert "503" in str(trial["trial_record"]["result"])
    assert "interrupted" in " ".join(trial["trial_record"]["steps"][0]["logs"])


def test_passing_guard_runs_are_kept_compactly_first_and_last(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment_id = _experiment(
        api,
        steps=[{"do": "cm.wait", "where": {"time_in_seconds": 1}}],
        guards=[_health_guard(f"{probe_target.url}/health", interval_seconds=0.05)],
    )
    trial = wait_for_trial(api, _start(api, experiment_id))

    assert trial["status"] == "Succeeded"
    assert trial["stop_reason"] is None
    assert sum(r["path"] == "/health" for r in probe_target.requests) > 2
    assert 1 <= len(trial["trial_record"]["guards"]) <= 2


def test_a_trials_guards_replace_the_experiments(api: httpx.Client) -> None:
    experiment_id = _experiment(
        api,
        steps=[{"do": "cm.wait", "where": {"time_in_seconds": 0.3}}],
        guards=[_health_guard("http://127.0.0.1:9/unreachable")],
    )

    replaced = wait_for_trial(api, _start(api, experiment_id, guards=[]))
    kept = wait_for_trial(api, _start(api, experiment_id))

    assert replaced["status"] == "Succeeded"
    assert (kept["status"], kept["stop_reason"]) == (
        "Stopped",
        "guard:Checkout health",
    )


def test_trial_past_its_maximum_duration_is_stopped_after_post_steps(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment_id = _experiment(
        api, post_steps=[_undo(probe_target)], max_duration_seconds=3600
    )

    trial = wait_for_trial(api, _start(api, experiment_id, max_duration_seconds=0.3))

    assert (trial["status"], trial["stop_reason"]) == ("Stopped", "max_duration")
    assert len(trial["trial_record"]["post_steps"]) == 1
    assert "maximum duration of 0.3 seconds" in str(trial["trial_record"]["result"])


def test_guard_and_limit_fields_are_checked(api: httpx.Client) -> None:
    experiment_id = _experiment(api)
    response = api.post(
        "/api/v1/trial",
        json={
            "experiment": experiment_id,
            "max_duration_seconds": -1,
            "guards": [{"do": "cm.http_probe", "where": {}, "tolerance": -1}],
        },
    )

    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"max_duration_seconds", "guards.0.tolerance"}


def test_a_trial_over_max_concurrent_trials_waits_its_turn(api: httpx.Client) -> None:
    experiment_id = _experiment(
        api,
        steps=[{"do": "cm.wait", "where": {"time_in_seconds": 1}}],
        max_concurrent_trials=1,
    )
    first = _start(api, experiment_id)
    wait_for_trial(api, first, until=lambda t: bool(t["trial_record"].get("steps")))

    second = _start(api, experiment_id)
    waiting = wait_for_trial(api, second, until=lambda t: bool(t["waiting_for"]))

    assert waiting["status"] == "Scheduled"
    assert "max_concurrent_trials 1" in waiting["waiting_for"]
    done = [wait_for_trial(api, t) for t in (first, second)]
    assert [t["status"] for t in done] == ["Succeeded", "Succeeded"]
    assert done[1]["executed_at"] >= done[0]["completed_at"]
