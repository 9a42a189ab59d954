"""/api/v1/trial over real HTTP: start, read, list and filter, stop; trials are
never edited or deleted; the record is readable while the trial runs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from support import TERMINAL, ProbeTarget, ServiceThread, wait_for_trial

TRIALS = "/api/v1/trial"


def _wait_step(seconds: float, title: str = "Pause") -> dict[str, Any]:
    return {"step": title, "do": "cm.wait", "where": {"time_in_seconds": seconds}}


def _probe_step(url: str) -> dict[str, Any]:
    return {
        "step": "Health",
        "do": "cm.http_probe",
        "where": {"url": url},
        "expect": [{"operator": "eq", "status_code": 200}],
    }


def _experiment(api: httpx.Client, **fields: Any) -> str:
    body = {"name": f"trials-{uuid.uuid4().hex[:8]}", "steps": [_wait_step(0)]}
    response = api.post("/api/v1/experiment", json={**body, **fields})
    assert response.status_code == 201, response.text
    experiment_id: str = response.json()["id"]
    return experiment_id


def _start(api: httpx.Client, experiment_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(TRIALS, json={"experiment": experiment_id, **fields})
    assert response.status_code == 201, response.text
    trial: dict[str, Any] = response.json()
    return trial


def _running(api: httpx.Client, trial_id: str) -> dict[str, Any]:
    """Wait until the trial's first step has started."""
    return wait_for_trial(
        api,
        trial_id,
        until=lambda t: (
            t["status"] == "In Progress" and bool(t["trial_record"].get("steps"))
        ),
    )


def test_create_answers_201_with_a_scheduled_trial(api: httpx.Client) -> None:
    experiment_id = _experiment(api)

    response = api.post(
        TRIALS, json={"experiment": experiment_id, "ticket": {"id": "CHG-1"}}
    )

    assert response.status_code == 201, response.text
    trial = response.json()
    uuid.UUID(trial["id"])
    assert trial["experiment"] == experiment_id
    assert trial["status"] == "Scheduled"
    assert trial["ticket"] == {"id": "CHG-1"}
    assert trial["initiated_by"] == "anonymous_user"
    assert trial["initiated_from"] == "api"
    assert trial["executed_at"] is None and trial["completed_at"] is None


@pytest.mark.parametrize("path", [TRIALS, f"{TRIALS}/"])
def test_create_and_list_answer_with_and_without_a_trailing_slash(
    api: httpx.Client, path: str
) -> None:
    experiment_id = _experiment(api)

    created = api.post(path, json={"experiment": experiment_id}, follow_redirects=False)
    listed = api.get(path, params={"experiment": experiment_id}, follow_redirects=False)

    assert created.status_code == 201
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [created.json()["id"]]


def test_create_for_an_unknown_experiment_is_400_naming_experiment(
    api: httpx.Client,
) -> None:
    response = api.post(TRIALS, json={"experiment": str(uuid.uuid4())})

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["experiment"]


def test_read_returns_the_trial_and_its_record(api: httpx.Client) -> None:
    trial = _start(api, _experiment(api))
    done = wait_for_trial(api, trial["id"])

    response = api.get(f"{TRIALS}/{trial['id']}")

    assert response.status_code == 200
    assert response.json() == done
    assert done["status"] == "Succeeded"
    assert done["trial_record"]["steps"][0]["step_name"]
    assert done["executed_at"] and done["completed_at"]


def test_the_record_keeps_its_keys_in_the_order_written(api: httpx.Client) -> None:
    # PostgreSQL's jsonb would give `steps, result, pre_steps, post_steps` and
    # `logs, step, step_name, step_parameters`.
    experiment = _experiment(
        api, pre_steps=[_wait_step(0)], post_steps=[_wait_step(0, "Settle")]
    )
    trial = _start(api, experiment)
    wait_for_trial(api, trial["id"])

    read = api.get(f"{TRIALS}/{trial['id']}").json()["trial_record"]
    listed = api.get(TRIALS, params={"experiment": experiment}).json()

    for record in (read, listed[0]["trial_record"]):
        assert list(record) == ["pre_steps", "steps", "post_steps", "result"]
        entry = record["post_steps"][0]
        assert list(entry) == ["step_name", "step_parameters", "logs", "step"]


def test_an_unknown_trial_is_404(api: httpx.Client) -> None:
    response = api.get(f"{TRIALS}/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_a_trial_cannot_be_edited_or_deleted(api: httpx.Client, method: str) -> None:
    trial = _start(api, _experiment(api))

    response = api.request(method, f"{TRIALS}/{trial['id']}", json={"status": "x"})

    assert response.status_code == 405
    assert api.get(f"{TRIALS}/{trial['id']}").status_code == 200


def test_list_filters_by_experiment_and_by_status(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment_id = _experiment(api, steps=[_probe_step(f"{probe_target.url}/h")])
    probe_target.status = 500
    failed = _start(api, experiment_id)
    assert wait_for_trial(api, failed["id"])["status"] == "Failed"
    probe_target.status = 200
    succeeded = _start(api, experiment_id)
    assert wait_for_trial(api, succeeded["id"])["status"] == "Succeeded"
    _start(api, _experiment(api))  # another experiment's trial

    def listed(**params: str) -> list[str]:
        response = api.get(TRIALS, params={"experiment": experiment_id, **params})
        assert response.status_code == 200
        return [t["id"] for t in response.json()]

    assert listed() == [failed["id"], succeeded["id"]]
    assert listed(status="Failed") == [failed["id"]]
    assert listed(status="Succeeded") == [succeeded["id"]]
    assert listed(status="In Progress") == []


def test_list_pages_with_limit_offset_and_a_next_link(api: httpx.Client) -> None:
    experiment_id = _experiment(api)
    started = [_start(api, experiment_id)["id"] for _ in range(3)]
    params: dict[str, str | int] = {"experiment": experiment_id, "limit": 2}

    first = api.get(TRIALS, params=params)

    assert first.headers["x-total-count"] == "3"
    assert [t["id"] for t in first.json()] == started[:2]
    assert 'rel="next"' in first.headers["link"]
    rest = api.get(TRIALS, params={**params, "offset": 2})
    assert [t["id"] for t in rest.json()] == started[2:]
    assert "link" not in rest.headers


def test_trial_metadata_is_laid_over_the_experiment_metadata(
    api: httpx.Client,
) -> None:
    experiment_id = _experiment(api, metadata={"team": "sre", "env": "dev"})

    trial = _start(api, experiment_id, metadata={"env": "prod", "change": "CHG-7"})

    expected = {"team": "sre", "env": "prod", "change": "CHG-7"}
    assert trial["metadata"] == expected
    assert api.get(f"{TRIALS}/{trial['id']}").json()["metadata"] == expected


def test_trial_parameters_override_the_experiment_parameters(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment_id = _experiment(
        api,
        parameters={"base": probe_target.url, "page": "from-experiment"},
        steps=[_probe_step("{{ base }}/{{ page }}")],
    )

    with_override = _start(api, experiment_id, parameters={"page": "from-trial"})
    assert wait_for_trial(api, with_override["id"])["status"] == "Succeeded"
    without = _start(api, experiment_id)
    assert wait_for_trial(api, without["id"])["status"] == "Succeeded"

    assert with_override["parameters"] == {"page": "from-trial"}
    paths = [request["path"] for request in probe_target.requests]
    assert paths == ["/from-trial", "/from-experiment"]


def test_the_record_shows_each_step_log_while_the_trial_runs(
    api: httpx.Client, probe_target: ProbeTarget
) -> None:
    experiment_id = _experiment(
        api, steps=[_probe_step(f"{probe_target.url}/h"), _wait_step(2)]
    )
    trial = _start(api, experiment_id)

    live = wait_for_trial(
        api,
        trial["id"],
        until=lambda t: (
            t["status"] in TERMINAL
            or any(
                line.endswith("Completed.")
                for line in t["trial_record"].get("steps", [{}])[0].get("logs", [])
            )
        ),
    )

    assert live["status"] == "In Progress"
    assert "result" not in live["trial_record"]
    first = live["trial_record"]["steps"][0]
    assert first["logs"][0].endswith("Starting command execution.")
    assert first["logs"][-1].endswith("Completed.")
    done = wait_for_trial(api, trial["id"])
    assert done["status"] == "Succeeded"
    assert done["trial_record"]["result"][-1]["logs"][-1].endswith("Trial Completed.")
    assert done["trial_record"]["steps"][0] == first


def test_stop_interrupts_a_long_wait_runs_post_steps_and_ends_stopped(
    api: httpx.Client,
) -> None:
    experiment_id = _experiment(
        api,
        steps=[_wait_step(60, "Long wait"), _wait_step(0, "Never runs")],
        post_steps=[_wait_step(0, "Clean up")],
    )
    trial = _start(api, experiment_id)
    _running(api, trial["id"])

    asked = time.monotonic()
    response = api.put(f"{TRIALS}/{trial['id']}/stop")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == trial["id"]
    assert response.json()["status"] in ("Stop Initiated", "Stopped")
    done = wait_for_trial(api, trial["id"], timeout=10)
    assert done["status"] == "Stopped"
    assert time.monotonic() - asked < 2
    record = done["trial_record"]
    assert len(record["steps"]) == 1
    assert len(record["post_steps"]) == 1
    assert record["post_steps"][0]["logs"][-1].endswith("Completed.")
    assert "Stopped" in record["result"][-1]["logs"][-1]


def test_stop_asked_again_while_stop_initiated_is_200(api: httpx.Client) -> None:
    experiment_id = _experiment(
        api,
        steps=[_wait_step(60, "Long wait")],
        post_steps=[_wait_step(1.5, "Slow clean up")],
    )
    trial = _start(api, experiment_id)
    _running(api, trial["id"])
    api.put(f"{TRIALS}/{trial['id']}/stop").raise_for_status()
    wait_for_trial(
        api,
        trial["id"],
        until=lambda t: (
            t["status"] != "Stop Initiated" or bool(t["trial_record"].get("post_steps"))
        ),
    )

    again = api.put(f"{TRIALS}/{trial['id']}/stop")

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "Stop Initiated"
    assert wait_for_trial(api, trial["id"])["status"] == "Stopped"


def test_stop_of_a_trial_still_waiting_for_a_worker_ends_it_at_once(
    api: httpx.Client, service: ServiceThread
) -> None:
    experiment_id = _experiment(api, steps=[_wait_step(60, "Hold a worker slot")])
    holders = [
        _start(api, experiment_id)
        for _ in range(service.service.settings.worker_concurrency)
    ]
    for holder in holders:
        _running(api, holder["id"])
    waiting = _start(api, experiment_id)

    response = api.put(f"{TRIALS}/{waiting['id']}/stop")

    for holder in holders:
        api.put(f"{TRIALS}/{holder['id']}/stop").raise_for_status()
    assert response.status_code == 200, response.text
    stopped = response.json()
    assert stopped["status"] == "Stopped"
    assert "steps" not in stopped["trial_record"]
    assert "before it started" in stopped["trial_record"]["result"][-1]["logs"][-1]
    for holder in holders:
        assert wait_for_trial(api, holder["id"])["status"] == "Stopped"
    assert wait_for_trial(api, waiting["id"])["status"] == "Stopped"


def test_stop_of_a_finished_trial_is_403_with_a_message(api: httpx.Client) -> None:
    trial = _start(api, _experiment(api))
    wait_for_trial(api, trial["id"])

    response = api.put(f"{TRIALS}/{trial['id']}/stop")

    assert response.status_code == 403
    assert response.json()["message"] == (
        "Trial has either not started or already set to stop."
    )
    assert "Succeeded" in response.json()["detail"]
    assert api.get(f"{TRIALS}/{trial['id']}").json()["status"] == "Succeeded"


def test_stop_of_an_unknown_trial_is_404(api: httpx.Client) -> None:
    response = api.put(f"{TRIALS}/{uuid.uuid4()}/stop")

    assert response.status_code == 404
