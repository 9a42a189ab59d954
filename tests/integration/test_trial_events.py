"""GET /api/v1/trial/{id}/events: a trial's changes pushed as server-sent
events, learnt from the database (the worker may be another process)."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import ServiceThread, running_service, service_settings

pytestmark = pytest.mark.postgres


def _experiment(api: httpx.Client, seconds: float) -> str:
    response = api.post(
        "/api/v1/experiment",
        json={
            "name": f"events-{uuid.uuid4().hex[:8]}",
            "steps": [
                {
                    "step": "Pause",
                    "do": "cm.wait",
                    "where": {"time_in_seconds": seconds},
                }
            ],
            "post_steps": [
                {"step": "Tidy", "do": "cm.wait", "where": {"time_in_seconds": 0}}
            ],
        },
    )
    assert response.status_code == 201, response.text
    experiment_id: str = response.json()["id"]
    return experiment_id


def _events(api: httpx.Client, trial_id: str) -> Iterator[tuple[str, str]]:
    """(event name, data) pairs of the stream, until the server ends it."""
    with api.stream("GET", f"/api/v1/trial/{trial_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "message", ""
        for line in response.iter_lines():
            if line == "":
                if data or name != "message":
                    yield name, data
                name, data = "message", ""
            elif line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data = line.removeprefix("data:").strip()


def _trials(api: httpx.Client, trial_id: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for name, data in _events(api, trial_id):
        if name == "trial":
            seen.append(json.loads(data))
        if name == "end":
            break
    return seen


def test_stream_pushes_each_change_then_ends_with_the_final_record(
    api: httpx.Client,
) -> None:
    experiment_id = _experiment(api, 1.0)
    trial = api.post("/api/v1/trial", json={"experiment": experiment_id}).json()

    seen = _trials(api, trial["id"])

    statuses = [t["status"] for t in seen]
    assert statuses[-1] == "Succeeded"
    assert "In Progress" in statuses
    assert any(t["trial_record"].get("steps") for t in seen[:-1])
    assert seen[-1] == api.get(f"/api/v1/trial/{trial['id']}").json()
    assert all(a != b for a, b in itertools.pairwise(seen))


def test_stream_of_a_finished_trial_sends_it_once_and_ends(api: httpx.Client) -> None:
    experiment_id = _experiment(api, 0)
    trial = api.post("/api/v1/trial", json={"experiment": experiment_id}).json()
    _trials(api, trial["id"])

    events = list(_events(api, trial["id"]))

    assert [name for name, _ in events] == ["trial", "end"]
    assert json.loads(events[0][1])["status"] == "Succeeded"


def test_stream_of_an_unknown_trial_is_404(api: httpx.Client) -> None:
    response = api.get(f"/api/v1/trial/{uuid.uuid4()}/events")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_stream_learns_of_a_worker_in_another_service_through_the_database(
    api: httpx.Client,
    service: ServiceThread,
    database_urls: dict[str, str],
    backend: str,
) -> None:
    # This service has no worker: the shared `service` (same database) runs the
    # trial, so only the database can tell the stream what happened.
    settings = service_settings(database_urls[backend], run_worker=False)
    with (
        running_service(settings) as api_only,
        httpx.Client(base_url=api_only.url, timeout=30) as client,
    ):
        experiment_id = _experiment(client, 0.2)
        trial = client.post("/api/v1/trial", json={"experiment": experiment_id}).json()

        seen = _trials(client, trial["id"])

    assert seen[-1]["status"] == "Succeeded"
    assert len(seen[-1]["trial_record"]["steps"]) == 1
