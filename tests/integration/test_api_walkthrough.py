"""The seed page's walk-through over real HTTP, with `cm` steps."""

from __future__ import annotations

import httpx

from support import ProbeTarget, wait_for_trial


def test_seed_walkthrough_runs_a_trial_and_shows_every_step_log(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": "Probe a hello world app",
            "description": "Probe the health endpoint.",
            "steps": [
                {
                    "step": "HTTP health check",
                    "do": "cm.http_probe",
                    "where": {"url": f"{probe_target.url}/health"},
                    "expect": [{"operator": "eq", "status_code": 200}],
                },
                {"step": "Pause", "do": "cm.wait", "where": {"time_in_seconds": 0}},
            ],
        },
    )
    assert experiment.status_code == 201, experiment.text
    trial = api.post("/api/v1/trial", json={"experiment": experiment.json()["id"]})
    assert trial.status_code == 201, trial.text
    assert trial.json()["status"] == "Scheduled"

    done = wait_for_trial(api, trial.json()["id"])

    assert done["status"] == "Succeeded"
    steps = done["trial_record"]["steps"]
    assert [s["step_name"] for s in steps] == ["Http probe", "Wait"]
    assert steps[0]["logs"][0].endswith("Starting command execution.")
    assert steps[0]["logs"][-1].endswith("Completed.")
    assert any("All expectations passed" in line for line in steps[0]["logs"])
    assert done["trial_record"]["result"][0]["logs"][-1].endswith("Trial Completed.")
    assert done["executed_at"] and done["completed_at"]
    assert probe_target.requests[0]["path"] == "/health"
