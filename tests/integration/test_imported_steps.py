"""An experiment stored with steps our step rules refuse (Kallisti stored them:
`kallisti import` brings them over as they are) stays readable over the API;
a trial of it fails at run time naming the step's action."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from kallisti.store.tables import experiments
from support import ServiceThread, wait_for_trial

EXPERIMENTS = "/api/v1/experiment"
KALLISTI_STEP = {
    "step": "Kill one instance",
    "do": "Kill CF Instance",
    "where": {"app_name": "hello-world", "org_name": "my-org"},
}


def _stored_as_kallisti_left_it(service: ServiceThread) -> dict[str, Any]:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "imported from Kallisti",
        "description": "",
        "metadata": {},
        "parameters": {},
        "pre_steps": [],
        "steps": [KALLISTI_STEP],
        "post_steps": [],
        "created_by": "anonymous_user",
        "created_at": now,
        "updated_at": now,
    }
    with service.service.store.engine.begin() as conn:
        conn.execute(experiments.insert().values(values))
    return values


def test_an_experiment_with_a_step_our_rules_refuse_stays_readable(
    api: httpx.Client, service: ServiceThread
) -> None:
    stored = _stored_as_kallisti_left_it(service)

    fetched = api.get(f"{EXPERIMENTS}/{stored['id']}")
    listed = api.get(EXPERIMENTS)
    report = api.get(
        "/api/v1/report", params={"experiment": stored["id"], "format": "xml"}
    )
    html = api.get(
        "/api/v1/report", params={"experiment": stored["id"], "format": "html"}
    )

    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["steps"] == [KALLISTI_STEP]
    assert listed.status_code == 200, listed.text
    assert [e["steps"] for e in listed.json() if e["id"] == stored["id"]] == [
        [KALLISTI_STEP]
    ]
    assert report.status_code == 200 and "Kill CF Instance" in report.text
    assert html.status_code == 200, html.text


def test_a_trial_of_such_an_experiment_fails_naming_the_action(
    api: httpx.Client, service: ServiceThread
) -> None:
    stored = _stored_as_kallisti_left_it(service)

    created = api.post("/api/v1/trial", json={"experiment": stored["id"]})
    assert created.status_code == 201, created.text
    trial = wait_for_trial(api, created.json()["id"])
    report = api.get(
        "/api/v1/report", params={"trial-id": trial["id"], "format": "junit"}
    )

    assert trial["status"] == "Failed"
    assert "Unknown module name 'Kill CF Instance'" in str(trial["trial_record"])
    assert report.status_code == 200, report.text
