"""The halt switch over real HTTP: PUT /halt stops every trial (post steps
run, `stop_reason: "halt"`) and refuses new ones with 409 until DELETE /halt.

Each backend gets its own service and database: a halt stops every trial in
its database, so it must not reach the shared service's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kallisti.domain.errors import Refused
from kallisti.domain.models import ExperimentCreate, TrialCreate, TrialStatus
from kallisti.store import Store
from support import (
    ProbeTarget,
    ServiceThread,
    create_postgres_database,
    drop_postgres_database,
    service_settings,
    wait_for_trial,
)


@pytest.fixture(scope="module")
def _own_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    urls = {
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('halt')}/kallisti.db",
        "postgresql": create_postgres_database(),
    }
    yield urls
    drop_postgres_database(urls["postgresql"])


@pytest.fixture(scope="module")
def _halt_services(_own_databases: dict[str, str]) -> Iterator[dict[str, Any]]:
    started: dict[str, ServiceThread] = {}
    yield started
    for thread in started.values():
        thread.stop()


@pytest.fixture
def halt_api(
    backend: str, _own_databases: dict[str, str], _halt_services: dict[str, Any]
) -> Iterator[httpx.Client]:
    if backend not in _halt_services:
        _halt_services[backend] = ServiceThread(
            service_settings(_own_databases[backend])
        ).start()
    service = _halt_services[backend]
    with httpx.Client(base_url=service.url, timeout=30, verify=False) as client:
        yield client
        client.delete("/api/v1/halt")
        client.put("/api/v1/blackout", json={"windows": []})


def _experiment(api: httpx.Client, target: ProbeTarget, tag: str) -> str:
    body = {
        "name": f"halt-{tag}",
        "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 600}}],
        "post_steps": [
            {"do": "cm.http_request", "where": {"url": f"{target.url}/undo/{tag}"}}
        ],
    }
    response = api.post("/api/v1/experiment", json=body)
    assert response.status_code == 201, response.text
    experiment_id: str = response.json()["id"]
    return experiment_id


def _start(api: httpx.Client, experiment_id: str) -> dict[str, Any]:
    response = api.post("/api/v1/trial", json={"experiment": experiment_id})
    assert response.status_code == 201, response.text
    trial: dict[str, Any] = response.json()
    return trial


def test_halt_stops_running_trials_after_their_post_steps_and_refuses_new_ones(
    halt_api: httpx.Client, probe_target: ProbeTarget
) -> None:
    tag = uuid.uuid4().hex[:8]
    experiment_id = _experiment(halt_api, probe_target, tag)
    trial = _start(halt_api, experiment_id)
    wait_for_trial(
        halt_api,
        trial["id"],
        until=lambda t: bool(t["trial_record"].get("steps")),
    )

    response = halt_api.put("/api/v1/halt", json={"reason": "checkout is down"})
    assert response.status_code == 200, response.text
    assert response.json()["halted"] is True

    stopped = wait_for_trial(halt_api, trial["id"])
    assert stopped["status"] == "Stopped"
    assert stopped["stop_reason"] == "halt"
    assert len(stopped["trial_record"]["post_steps"]) == 1
    assert [r["path"] for r in probe_target.requests] == [f"/undo/{tag}"]

    refused = halt_api.post("/api/v1/trial", json={"experiment": experiment_id})
    assert refused.status_code == 409
    assert "checkout is down" in refused.json()["detail"]

    switch = halt_api.get("/api/v1/halt").json()
    assert switch["halted"] is True
    assert switch["reason"] == "checkout is down"
    assert switch["by"] == "anonymous_user"
    assert switch["at"] is not None


def test_resume_lets_trials_start_again(halt_api: httpx.Client) -> None:
    experiment = halt_api.post(
        "/api/v1/experiment",
        json={
            "name": "after halt",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
        },
    ).json()
    halt_api.put("/api/v1/halt", json={"reason": "maintenance"}).raise_for_status()

    resumed = halt_api.delete("/api/v1/halt")

    assert resumed.status_code == 200
    assert resumed.json() == {"halted": False, "reason": None, "by": None, "at": None}
    trial = halt_api.post("/api/v1/trial", json={"experiment": experiment["id"]})
    assert trial.status_code == 201
    assert wait_for_trial(halt_api, trial.json()["id"])["status"] == "Succeeded"


def _halt_events(stream: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in stream:
        if line.startswith("data:"):
            yield json.loads(line.removeprefix("data:"))


def test_a_halt_made_by_another_process_is_pushed_to_open_streams(
    halt_api: httpx.Client, backend: str, _own_databases: dict[str, str]
) -> None:
    # Another process's store on the same database (as `kallisti halt` is):
    # the stream must learn of the halt from the database, not from this one.
    elsewhere = Store(_own_databases[backend])
    try:
        with halt_api.stream("GET", "/api/v1/halt/events") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            events = _halt_events(answer.iter_lines())
            assert next(events)["halted"] is False
            elsewhere.safety.halt("database failover", by="cli-user")
            pushed = next(events)
            elsewhere.safety.resume()
            lifted = next(events)
    finally:
        elsewhere.safety.resume()
        elsewhere.close()

    assert (pushed["halted"], pushed["reason"], pushed["by"]) == (
        True,
        "database failover",
        "cli-user",
    )
    assert lifted["halted"] is False


def test_halt_ends_scheduled_trials_at_once_and_refuses_new_ones(
    idle_store: Store,
) -> None:
    experiment = idle_store.experiments.create(
        ExperimentCreate.model_validate(
            {"name": "queued", "steps": [{"do": "cm.wait", "where": {}}]}
        ),
        created_by="test",
    )
    request = TrialCreate(experiment=experiment.id)
    queued = idle_store.trials.create(
        request, initiated_by="test", initiated_from="api"
    )

    idle_store.safety.halt("freeze", by="ops")

    ended = idle_store.trials.get(queued.id)
    assert (ended.status, ended.stop_reason) == (TrialStatus.STOPPED, "halt")
    assert "Nothing ran" in str(ended.trial_record["result"])
    with pytest.raises(Refused, match="halted by ops: freeze"):
        idle_store.trials.create(request, initiated_by="test", initiated_from="api")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_halt_without_a_reason_is_400_naming_reason(
    halt_api: httpx.Client, body: dict[str, Any]
) -> None:
    response = halt_api.put("/api/v1/halt", json=body)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert halt_api.get("/api/v1/halt").json()["halted"] is False


def test_a_users_stop_says_user(
    halt_api: httpx.Client, probe_target: ProbeTarget
) -> None:
    trial = _start(halt_api, _experiment(halt_api, probe_target, "user"))
    wait_for_trial(
        halt_api, trial["id"], until=lambda t: bool(t["trial_record"].get("steps"))
    )

    halt_api.put(f"/api/v1/trial/{trial['id']}/stop").raise_for_status()

    stopped = wait_for_trial(halt_api, trial["id"])
    assert (stopped["status"], stopped["stop_reason"]) == ("Stopped", "user")


def test_an_open_blackout_window_refuses_trials_naming_it(
    halt_api: httpx.Client,
) -> None:
    experiment = halt_api.post(
        "/api/v1/experiment",
        json={
            "name": "during blackout",
            "steps": [{"do": "cm.wait", "where": {"time_in_seconds": 0}}],
        },
    ).json()
    windows = [
        # Opens every minute for an hour: open now, whenever the test runs.
        {"name": "year-end freeze", "cron": "* * * * *", "duration_seconds": 3600},
        {
            "name": "never now",
            "cron": "0 0 1 1 *",
            "duration_seconds": 1,
            "timezone": "Europe/London",
        },
    ]

    stored = halt_api.put("/api/v1/blackout", json={"windows": windows})

    assert stored.status_code == 200, stored.text
    assert halt_api.get("/api/v1/blackout").json()["windows"][0] == {
        **windows[0],
        "timezone": "UTC",
    }
    refused = halt_api.post("/api/v1/trial", json={"experiment": experiment["id"]})
    assert refused.status_code == 409
    assert "year-end freeze" in refused.json()["detail"]

    halt_api.put("/api/v1/blackout", json={"windows": windows[1:]}).raise_for_status()
    allowed = halt_api.post("/api/v1/trial", json={"experiment": experiment["id"]})
    assert allowed.status_code == 201


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"cron": "61 * * * *", "duration_seconds": 1}, "windows.0.cron"),
        ({"cron": "* * * * *", "duration_seconds": 0}, "windows.0.duration_seconds"),
        (
            {"cron": "* * * * *", "duration_seconds": 1, "timezone": "Mars/Base"},
            "windows.0.timezone",
        ),
    ],
)
def test_a_bad_blackout_window_is_400_naming_the_field(
    halt_api: httpx.Client, window: dict[str, Any], field: str
) -> None:
    response = halt_api.put(
        "/api/v1/blackout", json={"windows": [{"name": "w", **window}]}
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
