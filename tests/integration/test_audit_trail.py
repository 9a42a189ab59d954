"""The audit trail's hash chain on SQLite and PostgreSQL: every change and
every trial status change is appended in the change's own transaction, and a
row edited, reordered or deleted directly in the database is caught."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kallisti.domain.models import (
    ExperimentCreate,
    ExperimentUpdate,
    TrialCreate,
    TrialStatus,
)
from kallisti.store import Store
from kallisti.store.audit import AuditFilter
from kallisti.store.claim import claim_scheduled, close_trial
from kallisti.store.tables import audit_log

WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}


@pytest.fixture
def fresh_store(idle_store: Store) -> Store:
    """A store on a database of its own (`idle_store`): these tests tamper with it."""
    return idle_store


def _history(store: Store) -> str:
    """Create, change and run a trial: six entries. Returns the trial id."""
    experiment = store.experiments.create(
        ExperimentCreate.model_validate({"name": "audited", "steps": [WAIT]}),
        created_by="erin",
    )
    store.experiments.update(
        experiment.id, ExperimentUpdate.model_validate({"name": "renamed"})
    )
    trial = store.trials.create(
        TrialCreate(experiment=experiment.id),
        initiated_by="otto",
        initiated_from="api",
    )
    now = store.clock()
    with store.write() as conn:
        claim_scheduled(conn, "w1", now, now + timedelta(seconds=30), 10)
    with store.write() as conn:
        assert close_trial(conn, str(trial.id), "w1", TrialStatus.SUCCEEDED, {}, now)
    store.experiments.soft_delete(experiment.id)
    return str(trial.id)


def _tamper(store: Store, statement: str, **values: object) -> None:
    with store.write() as conn:
        conn.execute(sa.text(statement), values)


def test_changes_and_trial_status_changes_form_a_valid_chain(
    fresh_store: Store,
) -> None:
    trial_id = _history(fresh_store)

    report = fresh_store.audit.verify()

    assert report.to_json() == {"ok": True, "entries": 6}
    entries = fresh_store.audit.list(AuditFilter())
    assert [e["action"] for e in entries] == [
        "experiment.create",
        "experiment.update",
        "trial.status",
        "trial.status",
        "trial.status",
        "experiment.delete",
    ]
    statuses = [e["detail"] for e in entries if e["target_id"] == trial_id]
    assert statuses == [
        {"to": "Scheduled"},
        {"from": "Scheduled", "to": "In Progress"},
        {"to": "Succeeded"},
    ]
    actors = ["erin", "system", "otto", "worker:w1", "worker:w1", "system"]
    assert [e["actor"] for e in entries] == actors
    assert entries[1]["before_digest"] != entries[1]["after_digest"]
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(entries))


def test_an_edited_row_is_caught(fresh_store: Store) -> None:
    _history(fresh_store)

    _tamper(fresh_store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")

    report = fresh_store.audit.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "altered" in (report.reason or "")


def test_an_edited_row_with_a_recomputed_hash_is_caught_at_the_next(
    fresh_store: Store,
) -> None:
    _history(fresh_store)
    _tamper(
        fresh_store,
        "UPDATE audit_log SET actor = 'mallory', hash = :fake WHERE seq = 3",
        fake="f" * 64,
    )

    report = fresh_store.audit.verify()

    assert report.first_bad_seq in (3, 4)
    assert not report.ok


def test_reordered_rows_are_caught(fresh_store: Store) -> None:
    _history(fresh_store)
    # Swap entries 2 and 3 by their sequence numbers.
    _tamper(fresh_store, "UPDATE audit_log SET seq = 1000 WHERE seq = 2")
    _tamper(fresh_store, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    _tamper(fresh_store, "UPDATE audit_log SET seq = 3 WHERE seq = 1000")

    report = fresh_store.audit.verify()

    assert not report.ok
    assert report.first_bad_seq == 2


def test_a_deleted_row_is_caught(fresh_store: Store) -> None:
    _history(fresh_store)
    with fresh_store.read() as conn:
        deleted_id = conn.execute(
            sa.select(audit_log.c.id).where(audit_log.c.seq == 4)
        ).scalar_one()

    _tamper(fresh_store, "DELETE FROM audit_log WHERE seq = 4")

    report = fresh_store.audit.verify()
    assert report.to_json()["first_bad"]["seq"] == 5
    assert "missing" in (report.reason or "")
    assert report.first_bad_id != deleted_id


def test_a_deleted_last_row_is_caught(fresh_store: Store) -> None:
    _history(fresh_store)

    _tamper(fresh_store, "DELETE FROM audit_log WHERE seq = 6")

    report = fresh_store.audit.verify()
    assert not report.ok
    assert report.first_bad_seq == 6
    assert "head" in (report.reason or "")


def test_a_refused_change_leaves_no_entry(fresh_store: Store) -> None:
    trial_id = _history(fresh_store)
    before = fresh_store.audit.verify().entries

    with pytest.raises(Exception, match="stop"):
        fresh_store.trials.request_stop(uuid.UUID(trial_id), "otto")

    assert fresh_store.audit.verify().to_json() == {"ok": True, "entries": before}


def test_concurrent_writers_keep_one_unbroken_chain(fresh_store: Store) -> None:
    experiment = fresh_store.experiments.create(
        ExperimentCreate.model_validate({"name": "busy", "steps": [WAIT]}),
        created_by="erin",
    )
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write() -> None:
        try:
            start.wait()
            for _ in range(15):
                fresh_store.trials.create(
                    TrialCreate(experiment=experiment.id),
                    initiated_by="ci",
                    initiated_from="api",
                )
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert fresh_store.audit.verify().to_json() == {"ok": True, "entries": 121}


def test_the_halt_switch_and_the_trials_it_stops_are_audited(
    fresh_store: Store,
) -> None:
    experiment = fresh_store.experiments.create(
        ExperimentCreate.model_validate({"name": "halted", "steps": [WAIT]}),
        created_by="erin",
    )
    trial = fresh_store.trials.create(
        TrialCreate(experiment=experiment.id), initiated_by="otto", initiated_from="api"
    )

    fresh_store.safety.halt("incident 42", by="ada")
    fresh_store.safety.resume()

    entries = fresh_store.audit.list(AuditFilter(after_seq=2))
    assert [(e["action"], e["target_id"], e["detail"]) for e in entries] == [
        ("halt.on", None, {"reason": "incident 42"}),
        ("trial.status", str(trial.id), {"from": "Scheduled", "to": "Stopped"}),
        ("halt.off", None, {}),
    ]
    assert entries[0]["actor"] == "ada"
    assert fresh_store.audit.verify().ok
