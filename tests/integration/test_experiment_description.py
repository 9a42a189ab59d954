"""An experiment created without `description` answers `""`, as Kallisti 1.3.7
does (its model's `description` is a blank-allowed text field with no null), in
every place it is read: the creation's answer, a get, the list, a trial's
snapshot and the report."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from kallisti.store.tables import experiments, trials
from support import ServiceThread

EXPERIMENTS = "/api/v1/experiment"
WAIT = {"do": "cm.wait", "where": {"time_in_seconds": 0}}


def _create_without_description(api: httpx.Client) -> dict[str, Any]:
    body = {"name": f"exp-{uuid.uuid4().hex[:8]}", "steps": [WAIT]}
    response = api.post(EXPERIMENTS, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_experiment_created_without_description_answers_an_empty_string(
    api: httpx.Client,
) -> None:
    created = _create_without_description(api)

    listed = {item["id"]: item for item in api.get(EXPERIMENTS).json()}
    fetched = api.get(f"{EXPERIMENTS}/{created['id']}").json()

    assert created["description"] == ""
    assert fetched["description"] == ""
    assert listed[created["id"]]["description"] == ""


def test_trial_snapshot_and_report_carry_the_empty_description(
    api: httpx.Client, service: ServiceThread
) -> None:
    created = _create_without_description(api)
    response = api.post("/api/v1/trial", json={"experiment": created["id"]})
    assert response.status_code == 201, response.text
    engine = service.service.store.engine

    with engine.connect() as conn:
        snapshot = conn.execute(
            sa.select(trials.c.experiment_snapshot).where(
                trials.c.id == response.json()["id"]
            )
        ).scalar_one()
    report = api.get(
        "/api/v1/report",
        params={"experiment": created["id"], "format": "xml"},
    )

    assert snapshot["description"] == ""
    assert report.status_code == 200, report.text
    assert "<description></description>" in report.text


def test_a_null_description_from_an_older_row_reads_as_an_empty_string(
    api: httpx.Client, service: ServiceThread
) -> None:
    created = _create_without_description(api)
    with service.service.store.engine.begin() as conn:
        conn.execute(
            experiments.update()
            .where(experiments.c.id == created["id"])
            .values(description=None)
        )

    fetched = api.get(f"{EXPERIMENTS}/{created['id']}").json()
    report = api.get(
        "/api/v1/report", params={"experiment": created["id"], "format": "xml"}
    )

    assert fetched["description"] == ""
    assert "<description></description>" in report.text
