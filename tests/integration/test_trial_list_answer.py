"""GET /trial answers from plain rows written as JSON in one call: the bytes
must be those the trial models give, secrets masked the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import TypeAdapter

from kallisti.api.masking import masked_trial, masked_trials_json
from kallisti.domain.models import (
    ExperimentCreate,
    TrialCreate,
    TrialPublic,
    TrialStatus,
)
from kallisti.store import Page, Store, TrialFilter
from kallisti.store.tables import trials
from support import wait_for_trial

TRIALS = "/api/v1/trial"
_MODELS = TypeAdapter(list[TrialPublic])


def _experiment(api: httpx.Client, **fields: Any) -> str:
    body = {
        "name": f"list-{uuid.uuid4().hex[:8]}",
        "parameters": {"db_password": "hunter2-list", "region": "eu"},
        "metadata": {"team": "équipe ✓", "api_key": "k-list-991"},
        "steps": [
            {
                "step": "Probe",
                "do": "cm.http_probe",
                "where": {
                    "url": "http://127.0.0.1:1/x",
                    "headers": {"X-Db-Password": "{{ db_password }}"},
                },
            }
        ],
    }
    response = api.post("/api/v1/experiment", json={**body, **fields})
    assert response.status_code == 201, response.text
    experiment_id: str = response.json()["id"]
    return experiment_id


def _models_answer(store: Store, where: TrialFilter, page: Page) -> bytes:
    items, _ = store.trials.list(where, page)
    return _MODELS.dump_json([masked_trial(t) for t in items])


def _plain_answer(store: Store, where: TrialFilter, page: Page) -> bytes:
    items, _ = store.trials.list_plain(where, page)
    return masked_trials_json(items)


def test_the_list_is_byte_for_byte_the_models_answer_with_secrets_masked(
    api: httpx.Client, store: Store
) -> None:
    experiment = _experiment(api)
    started = api.post(
        TRIALS,
        json={
            "experiment": experiment,
            "parameters": {"db_password": "trial-pw-5521"},
            "metadata": {"session_id": "s-77", "note": "http://u:pw-8812@h/"},
            "ticket": {"token": "tk-31", "id": 7},
            "guards": [
                {"step": "Guard", "do": "cm.http_probe", "where": {"url": "http://x"}}
            ],
            "max_duration_seconds": 12.5,
        },
    )
    assert started.status_code == 201, started.text
    wait_for_trial(api, started.json()["id"])
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    odd = str(uuid.uuid4())
    with store.write() as conn:
        conn.execute(
            trials.insert().values(
                id=odd,
                experiment_id=experiment,
                experiment_snapshot={},
                parameters={"nested": {"password": ["a", 1.5e-7, 10**20]}},
                metadata={},
                ticket={},
                status="Failed",
                trial_record={"result": ["ünïcode \u2028 line"], "n": 1e16},
                initiated_by="list",
                initiated_from="api",
                dry_run=True,
                created_at=now,
                executed_at=now,
                completed_at=now.replace(microsecond=120),
                residual_faults=[{"fault": "x"}],
                secret_parameters=["nested"],
            )
        )
    deleted = _experiment(api)
    gone = api.post(TRIALS, json={"experiment": deleted})
    assert gone.status_code == 201, gone.text
    wait_for_trial(api, gone.json()["id"])
    assert api.delete(f"/api/v1/experiment/{deleted}").status_code in (200, 204)

    # Other tests' trials may still be running: only these two experiments.
    for where in (
        TrialFilter(experiment_id=uuid.UUID(experiment)),
        TrialFilter(experiment_id=uuid.UUID(deleted)),
        TrialFilter(experiment_id=uuid.UUID(deleted), include_deleted_experiments=True),
    ):
        for page in (Page(), Page(limit=1, offset=1)):
            plain = _plain_answer(store, where, page)
            assert plain == _models_answer(store, where, page)
            for secret in ("hunter2", "trial-pw-5521", "k-list-991", "tk-31", "s-77"):
                assert secret not in plain.decode()
            assert "pw-8812" not in plain.decode()

    answer = api.get(TRIALS, params={"experiment": experiment})
    assert answer.content == _models_answer(
        store, TrialFilter(experiment_id=uuid.UUID(experiment)), Page()
    )
    assert answer.json()[0]["id"] == odd  # oldest first
    listed = {t["experiment"] for t in api.get(TRIALS).json()}
    assert deleted not in listed
    assert experiment in listed


def test_unfiltered_pages_leave_out_deleted_experiments_trials_once_one_is_deleted(
    idle_store: Store,
) -> None:
    def experiment_with_trials(name: str) -> tuple[uuid.UUID, list[str]]:
        experiment = idle_store.experiments.create(
            ExperimentCreate.model_validate(
                {"name": name, "steps": [{"do": "cm.wait", "where": {}}]}
            ),
            created_by="test",
        )
        request = TrialCreate(experiment=experiment.id)
        created = [
            idle_store.trials.create(request, initiated_by="test", initiated_from="api")
            for _ in range(3)
        ]
        return experiment.id, [str(trial.id) for trial in created]

    _, kept = experiment_with_trials("kept")
    gone_id, gone = experiment_with_trials("gone")

    def pages(where: TrialFilter) -> tuple[list[str], set[int]]:
        listed: list[str] = []
        totals = set()
        for offset in range(0, 6, 2):
            items, total = idle_store.trials.list_plain(
                where, Page(limit=2, offset=offset)
            )
            listed += [str(item["id"]) for item in items]
            totals.add(total)
        return listed, totals

    scheduled = TrialFilter(status=TrialStatus.SCHEDULED)  # no worker: all of them
    everything = TrialFilter(include_deleted_experiments=True)
    for where in (TrialFilter(), scheduled, everything):
        assert pages(where) == (kept + gone, {6})

    idle_store.experiments.soft_delete(gone_id)

    assert pages(TrialFilter()) == (kept, {3})
    assert pages(scheduled) == (kept, {3})
    assert pages(everything) == (kept + gone, {6})
    whole, total = idle_store.trials.list_plain(TrialFilter(), Page())
    assert ([str(item["id"]) for item in whole], total) == (kept, 3)
