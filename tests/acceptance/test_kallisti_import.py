"""`kallisti import` of a database written by the real Kallisti 1.3.7.

The set-up installs Kallisti 1.3.7 in a cached throw-away venv
(`bench.kallisti_reference`), migrates a database with Kallisti's own
migrations (SQLite, PostgreSQL, and MySQL when a server answers on
127.0.0.1:3306) and writes experiments, trials (with records from Kallisti's
own `TrialLogRecorder`), schedules and notification settings with Kallisti's
own models. The import then runs twice into each backend, and the objects are
read back over this project's API: each trial record is the bytes Kallisti's
own serializer and renderer answer for it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymysql
import pytest
import sqlalchemy as sa

from kallisti.store import Store
from kallisti.store.audit import AuditFilter
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
from kallisticore.serializers import TrialSerializer
from rest_framework.renderers import JSONRenderer

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
            # What Kallisti's API answers for the trial, byte for byte.
            "served": JSONRenderer().render(TrialSerializer(t).data).decode(),
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


# Trust authentication ignores it; it must never be shown or kept.
_PASSWORD = "not-shown-4f1c"
_MYSQL = ("127.0.0.1", 3306)


@dataclass
class KallistiDatabase:
    location: str
    """What `kallisti import` is given: a SQLite path or a URL."""
    shown: str
    """The location as output and the audit trail may show it."""
    written: dict[str, Any]


def _postgres_source() -> tuple[dict[str, str], str]:
    name = create_postgres_database().rsplit("/", 1)[1]
    django = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
    return django, f"postgresql://postgres:{_PASSWORD}@127.0.0.1:5432/{name}"


def _mysql_source() -> tuple[dict[str, str], str]:
    try:
        socket.create_connection(_MYSQL, timeout=2).close()
    except OSError:
        pytest.skip("no MySQL/MariaDB server answers on 127.0.0.1:3306")
    name = f"kallisti_source_{uuid.uuid4().hex[:12]}"
    with pymysql.connect(host=_MYSQL[0], port=_MYSQL[1], user="root") as conn:
        conn.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    django = {
        # The MySQL driver Kallisti 1.3.7 itself depends on.
        "ENGINE": "mysql.connector.django",
        "NAME": name,
        "USER": "root",
        "HOST": _MYSQL[0],
        "PORT": str(_MYSQL[1]),
    }
    return django, f"mysql://root@127.0.0.1:3306/{name}"


def _drop_source(kind: str, location: str) -> None:
    name = location.rsplit("/", 1)[1]
    if kind == "postgresql":
        drop_postgres_database(f"postgresql://postgres@127.0.0.1:5432/{name}")
    elif kind == "mysql":
        with pymysql.connect(host=_MYSQL[0], port=_MYSQL[1], user="root") as conn:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def kallisti_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KallistiDatabase]:
    kind: str = request.param
    python = install_reference_kallisti()
    directory = tmp_path_factory.mktemp(f"kallisti-1.3.7-{kind}")
    django: dict[str, str] | None = None
    location = shown = str(directory / "db.sqlite3")
    if kind == "postgresql":
        django, location = _postgres_source()
        shown = location.replace(_PASSWORD, "***")
    elif kind == "mysql":
        django, location = _mysql_source()
        shown = location
    try:
        site = write_reference_settings(
            directory, directory / "db.sqlite3", django_database=django
        )
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
        yield KallistiDatabase(location, shown, json.loads(done.stdout))
    finally:
        _drop_source(kind, location)


@pytest.fixture(scope="module")
def target(
    backend: str,
    kallisti_database: KallistiDatabase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """An empty database of ours for each source."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('imported') / 'kallisti.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _import(source: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kallisti", "import", source],
        env={**os.environ, "KALLISTI_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Imported:
    api: httpx.Client
    runs: tuple[subprocess.CompletedProcess[str], ...]
    stored: dict[str, str]
    """Each trial's record as this project's database holds it (its text)."""
    audit: list[dict[str, Any]]


@pytest.fixture(scope="module")
def imported(kallisti_database: KallistiDatabase, target: str) -> Iterator[Imported]:
    runs = tuple(_import(kallisti_database.location, target) for _ in range(2))
    for run in runs:
        assert run.returncode == 0, run.stderr
    store = Store(target)
    try:
        with store.read() as conn:
            rows = conn.execute(
                sa.text("SELECT id, CAST(trial_record AS TEXT) AS text FROM trials")
            )
            stored = {row.id: row.text for row in rows}
        audit = store.audit.list(AuditFilter(action="kallisti.import"))
        assert store.audit.verify().ok
    finally:
        store.close()
    service = ServiceThread(service_settings(target, run_worker=False)).start()
    try:
        with httpx.Client(base_url=service.url, timeout=30, verify=False) as client:
            yield Imported(client, runs, stored, audit)
    finally:
        service.stop()


def test_every_trial_comes_over_with_its_record_byte_for_byte(
    kallisti_database: KallistiDatabase, imported: Imported
) -> None:
    written = kallisti_database.written["trials"]
    assert len(written) == 5
    for trial_id, kallisti in written.items():
        response = imported.api.get(f"/api/v1/trial/{trial_id}")
        ours = response.json()
        assert ours["status"] == kallisti["status"]
        assert ours["experiment"] == kallisti["experiment"]
        assert ours["initiated_by"] == kallisti["initiated_by"]
        assert ours["initiated_from"] == kallisti["initiated_from"]
        # The bytes Kallisti's API answers, and Kallisti's text in our database
        # with every key where it was (whitespace aside).
        served = _member(kallisti["served"], "trial_record")
        assert _member(response.text, "trial_record") == served
        assert imported.stored[trial_id] == _compact(kallisti["records"])
        for time in ("executed_at", "completed_at"):
            if kallisti[time] is None:
                assert ours[time] is None
            else:
                assert _instant(ours[time]) == _instant(kallisti[time])


def test_experiments_schedules_and_notifications_come_over(
    kallisti_database: KallistiDatabase, imported: Imported
) -> None:
    api = imported.api
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


def test_running_the_import_again_adds_nothing(imported: Imported) -> None:
    again = imported.runs[1].stderr

    assert "experiments: 2 found, 0 added" in again
    assert "trials: 5 found, 0 added" in again
    assert "schedules: 2 found, 0 added" in again


def test_each_run_is_audited_with_its_counts_and_no_password(
    kallisti_database: KallistiDatabase, imported: Imported
) -> None:
    first, again = imported.audit

    for entry in (first, again):
        assert entry["actor"].startswith("cli")
        assert entry["target_type"] == "database"
        assert entry["detail"]["source"] == kallisti_database.shown
    assert first["detail"]["trials_added"] == "5"
    assert first["detail"]["experiments_added"] == "2"
    assert again["detail"]["trials_added"] == "0"
    assert again["detail"]["trials_skipped"] == "5"
    assert again["detail"]["schedules_skipped"] == "2"
    shown = [repr(imported.audit), *(run.stderr + run.stdout for run in imported.runs)]
    assert not [text for text in shown if _PASSWORD in text]


def test_a_missing_mysql_driver_says_what_to_install(tmp_path: Path) -> None:
    without_pymysql = (
        "import sys; sys.modules['pymysql'] = None; "
        "from kallisti.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", without_pymysql, "import", "mysql://u:pw@h/kallisti"],
        env={**os.environ, "KALLISTI_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "pip install 'kallisti[mysql]'" in result.stderr
    assert "mysql://u:***@h/kallisti" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_a_kallisti_database_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")

    result = _import(str(empty), f"sqlite:///{tmp_path / 'ours.db'}")

    assert result.returncode == 1
    assert "no Kallisti tables" in result.stderr
    assert "Traceback" not in result.stderr


def _instant(text: str) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).isoformat()
    )


def _member(body: str, key: str) -> str:
    """The text of `key`'s value in a JSON object's text, as it stands there."""
    start = body.index(f'"{key}":') + len(key) + 3
    _, end = json.JSONDecoder().raw_decode(body, start)
    return body[start:end]


def _compact(text: str) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
