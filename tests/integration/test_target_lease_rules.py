"""Target leases in the store, on both databases: a trial waiting longer than
KALLISTI_TARGET_LEASE_WAIT_SECONDS fails saying for what; a lease lapses with
its worker's lease."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from kallisti.domain.models import ExperimentCreate, TrialCreate, TrialStatus
from kallisti.modules import ModuleRegistry
from kallisti.safety import Admission
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store import claim as queries


def _trial(store: Store) -> str:
    where = {"k8s_api_host": "https://cluster", "ns": "shop"}
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {"name": "egress", "steps": [{"do": "k8s.deny_all_egress", "where": where}]}
        ),
        created_by="test",
    )
    trial = store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="t", initiated_from="api"
    )
    return str(trial.id)


def _claim(store: Store, admission: Admission, lease_seconds: float) -> list[Any]:
    now = store.clock()
    with store.write() as conn:
        rows = queries.claim_scheduled(
            conn, "worker", now, now + timedelta(seconds=lease_seconds), 10
        )
        return admission.admit(conn, rows, now)


def test_a_trial_waiting_past_the_lease_wait_fails_saying_for_what(
    idle_store: Store,
) -> None:
    admission = Admission(
        Settings(target_lease_wait_seconds=0),
        idle_store,
        ModuleRegistry.discover(),
    )
    holder = _trial(idle_store)
    assert [row.id for row in _claim(idle_store, admission, 60)] == [holder]

    waiting = _trial(idle_store)
    assert _claim(idle_store, admission, 60) == []

    failed = idle_store.trials.get(uuid.UUID(waiting))
    assert failed.status is TrialStatus.FAILED
    assert f"held by trial {holder}" in str(failed.trial_record["result"])
    assert failed.waiting_for is not None and "k8s/https:" in failed.waiting_for


def test_a_lease_lapses_with_its_workers_lease(idle_store: Store) -> None:
    admission = Admission(Settings(), idle_store, ModuleRegistry.discover())
    holder = _trial(idle_store)
    assert [row.id for row in _claim(idle_store, admission, -1)] == [holder]

    successor = _trial(idle_store)

    assert [row.id for row in _claim(idle_store, admission, 60)] == [successor]
