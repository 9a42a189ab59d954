"""`kallisti import` of a database written by the real Kallisti 1.3.7.

The set-up installs Kallisti 1.3.7 in a cached throw-away venv
(`bench.kallisti_reference`), migrates a SQLite database with Kallisti's own
migrations and writes experiments, trials (with records from Kallisti's own
`TrialLogRecorder`), schedules and notification settings with Kallisti's own
models. The import then runs twice into each backend, and the objects are read
back over this project's API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import (
    ServiceThread,
    create_postgres_database,
    drop_postgres_database,
    service_settings,
)

# The installer of the original Kallisti lives in the repository's bench/.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.kallisti_reference import (
    install_reference_kallisti,
    migrate_reference,
    reference_environment,
    write_reference_settings,
)

# Runs inside Kallisti's venv: writes with its models, prints what it wrote.
_WRITER = r"""
import json
import kallisti_reference_settings  # noqa: F401  (django.setup())
from django.db.models.signals import post_save
from kallisticore.lib.trial_log_recorder import (
    TrialLogRecord, TrialLogRecorder, TrialStepLogRecord,
)
from kallisticore.models import Experiment, Trial
from kallisticore.models.notification import Notification
from kallisticore.models.trial import TrialStatus
from kallisticore.models.trial_schedule import TrialSchedule
from kallisticore.signals import execute_plan_for_trial

post_save.disconnect(execute_plan_for_trial, sender=Trial)

probe = {"step": "Probe the shop", "do": "cm.http_probe",
         "where": {"url": "http://127.0.0.1:9/health", "method": "GET"},
         "expect": [{"operator": "eq", "status_code": 200}]}
wait = {"do": "cm.wait", "where": {"time_in_seconds": "{{ pause }}"}}
shop = Experiment.create(
    name="Checkout survives a pod loss", description="HA — ünïcode",
    metadata={"team": "sre"}, parameters={"pause": 1},
    pre_steps=[probe], steps=[probe, wait], post_steps=[wait], created_by="a123456")
gone = Experiment.create(name="retired", steps=[wait], created_by="b234567")


def record(trial, stages, status):
    recorder = TrialLogRecorder(str(trial.id))
    for stage, name, parameters, lines in stages:
        entry = (TrialLogRecord(stage) if stage == "result"
                 else TrialStepLogRecord(stage, name, parameters))
        for level, line in lines:
            entry.append(level, line)
        recorder.commit(entry)
    trial = Trial.objects.get(id=trial.id)
    trial.update_executed_at()
    trial.update_status(status)
    return trial


done = record(
    Trial.create(experiment=shop, initiated_by="a123456", initiated_from="jenkins",
                 metadata={"run": "nightly"}, parameters={"pause": 0}),
    [("pre_steps", "Http probe", probe["where"],
      [("INFO", "Starting command execution."), ("INFO", "Completed.")]),
     ("steps", "Http probe", {"z": 1, "a": {"y": [1, "2"], "b": None}},
      [("INFO", "Starting command execution."), ("INFO", "Result: {'ok': 'ü'}")]),
     ("steps", "Wait", {"time_in_seconds": 0}, [("INFO", "Completed.")]),
     ("post_steps", "Wait", {"time_in_seconds": 0}, [("INFO", "Completed.")]),
     ("result", None, None, [("INFO", "Trial Completed.")])],
    TrialStatus.SUCCEEDED)
failed = record(
    Trial.create(experiment=shop),
    [("steps", "Http probe", probe["where"],
      [("ERROR", "There was an error while executing the step.\nType: Failed")]),
     ("result", None, None, [("ERROR", "Trial Failed.")])],
    TrialStatus.FAILED)
waiting = Trial.create(experiment=shop)
stopping = Trial.create(experiment=shop)
stopping.update_status(TrialStatus.STOP_INITIATED)
old = record(Trial.create(experiment=gone),
             [("result", None, None, [("INFO", "Trial Completed.")])],
             TrialStatus.SUCCEEDED)
schedule = TrialSchedule.create(
    experiment=shop, recurrence_pattern="0 3 * * *", recurrence_count=5,
    parameters={"pause": 2}, metadata={"by": "cron"}, created_by="a123456")
schedule.trials.add(done)
retired_schedule = TrialSchedule.create(experiment=gone, recurrence_pattern="* * * * *")
gone.delete()
notification = Notification.objects.get(pk=1)
notification.emails = ["ops@example.com", "sre@example.com"]
notification.save()

import uuid
from django.db import connection
with connection.cursor() as cursor:  # the record's text exactly as stored
    cursor.execute("SELECT id, records FROM kallisticore_trial")
    stored = {str(uuid.UUID(str(row[0]))): row[1] for row in cursor.fetchall()}
print(json.dumps({
    "experiments": {str(e.id): e.name for e in Experiment.objects.get_queryset_all()},
    "deleted_experiment": str(gone.id),
    "schedules": [str(schedule.id), str(retired_schedule.id)],
    "trials": {
        str(t.id): {
            "status": t.status,
            "experiment": str(t.experiment_id),
            "records": stored[str(t.id)],
            "initiated_by": t.initiated_by,
            "initiated_from": t.initiated_from,
            "executed_at": t.executed_at and t.executed_at.isoformat(),
            "completed_at": t.completed_at and t.completed_at.isoformat(),
        }
        for t in Trial.objects.get_queryset_all()
    },
    "done": str(done.id), "waiting": str(waiting.id), "stopping": str(stopping.id),
    "schedule_trial": str(done.id),
}))
"""


class KallistiDatabase:
    def __init__(self, path: Path, written: dict[str, Any]) -> None:
        self.path = path
        self.written = written


@pytest.fixture(scope="module")
def kallisti_database(tmp_path_factory: pytest.TempPathFactory) -> KallistiDatabase:
    python = install_reference_kallisti()
    directory = tmp_path_factory.mktemp("kallisti-1.3.7")
    site = write_reference_settings(directory, directory / "db.sqlite3")
    migrate_reference(python, site)
    writer = directory / "write_kallisti_data.py"
    writer.write_text(_WRITER)
    done = subprocess.run(
        [str(python), "-W", "ignore", str(writer)],
        env=reference_environment(site),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return KallistiDatabase(site.database, json.loads(done.stdout))


@pytest.fixture(scope="module")
def target(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('imported') / 'kallisti.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _import(source: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kallisti", "import", str(source)],
        env={**os.environ, "KALLISTI_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def imported(
    kallisti_database: KallistiDatabase, target: str
) -> Iterator[tuple[httpx.Client, subprocess.CompletedProcess[str]]]:
    first = _import(kallisti_database.path, target)
    assert first.returncode == 0, first.stderr
    again = _import(kallisti_database.path, target)
    assert again.returncode == 0, again.stderr
    service = ServiceThread(service_settings(target, run_worker=False)).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30, verify=False) as client:
            yield client, again
    finally:
        service.stop()


def test_every_trial_comes_over_with_its_record_byte_for_byte(
    kallisti_database: KallistiDatabase,
    imported: tuple[httpx.Client, subprocess.CompletedProcess[str]],
    backend: str,
) -> None:
    api, _ = imported
    written = kallisti_database.written["trials"]
    assert len(written) == 5
    for trial_id, kallisti in written.items():
        ours = api.get(f"/api/v1/trial/{trial_id}").json()
        assert ours["status"] == kallisti["status"]
        assert ours["experiment"] == kallisti["experiment"]
        assert ours["initiated_by"] == kallisti["initiated_by"]
        assert ours["initiated_from"] == kallisti["initiated_from"]
        assert ours["trial_record"] == json.loads(kallisti["records"])
        if backend == "sqlite":
            # Byte for byte. (PostgreSQL's jsonb orders object keys its way.)
            assert json.dumps(ours["trial_record"]) == kallisti["records"]
        for time in ("executed_at", "completed_at"):
            if kallisti[time] is None:
                assert ours[time] is None
            else:
                assert _instant(ours[time]) == _instant(kallisti[time])


def test_experiments_schedules_and_notifications_come_over(
    kallisti_database: KallistiDatabase,
    imported: tuple[httpx.Client, subprocess.CompletedProcess[str]],
) -> None:
    api, _ = imported
    written = kallisti_database.written
    deleted = written["deleted_experiment"]
    live = {e["id"]: e["name"] for e in api.get("/api/v1/experiment").json()}
    assert live == {k: v for k, v in written["experiments"].items() if k != deleted}
    assert api.get(f"/api/v1/experiment/{deleted}").json()["name"] == "retired"
    shop = next(iter(live))
    steps = api.get(f"/api/v1/experiment/{shop}").json()["steps"]
    assert steps[0]["step"] == "Probe the shop"
    assert steps[1] == {"do": "cm.wait", "where": {"time_in_seconds": "{{ pause }}"}}
    schedules = api.get(f"/api/v1/experiment/{shop}/schedule").json()
    assert [s["id"] for s in schedules] == [written["schedules"][0]]
    assert schedules[0]["recurrence_left"] == 5
    assert schedules[0]["metadata"] == {"team": "sre", "by": "cron"}
    assert [t["id"] for t in schedules[0]["trials"]] == [written["schedule_trial"]]
    emails = api.get("/api/v1/notification").json()["emails"]
    assert emails == ["ops@example.com", "sre@example.com"]
    listed = {t["id"] for t in api.get("/api/v1/trial").json()}
    assert written["waiting"] in listed


def test_running_the_import_again_adds_nothing(
    imported: tuple[httpx.Client, subprocess.CompletedProcess[str]],
) -> None:
    _, again = imported

    assert "experiments: 2 found, 0 added" in again.stderr
    assert "trials: 5 found, 0 added" in again.stderr
    assert "schedules: 2 found, 0 added" in again.stderr


def test_a_file_that_is_not_a_kallisti_database_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")

    result = _import(empty, f"sqlite:///{tmp_path / 'ours.db'}")

    assert result.returncode == 1
    assert "no Kallisti tables" in result.stderr
    assert "Traceback" not in result.stderr


def _instant(text: str) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).isoformat()
    )
