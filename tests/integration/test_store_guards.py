"""What the database itself refuses, whatever code talks to it: changing a
finished trial, deleting any trial (triggers, written differently per
database); and migrations run from several processes at once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from kallisti.domain.models import ExperimentCreate, TrialCreate
from kallisti.store import Store
from support import create_postgres_database, drop_postgres_database


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'kallisti.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def _finished_and_running(store: Store) -> tuple[uuid.UUID, uuid.UUID]:
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {"name": "guarded", "steps": [{"do": "cm.wait", "where": {}}]}
        ),
        created_by="test",
    )
    finished, running = (
        store.trials.create(
            TrialCreate(experiment=experiment.id), initiated_by="t", initiated_from="t"
        )
        for _ in range(2)
    )
    store.trials.request_stop(finished.id, "test")  # Scheduled → Stopped
    assert store.trials.get(finished.id).status.value == "Stopped"
    return finished.id, running.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE trials SET status = 'Succeeded' WHERE id = :id",
        "UPDATE trials SET trial_record = '{}' WHERE id = :id",
        "DELETE FROM trials WHERE id = :id",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_finished_trial(
    fresh_url: str, statement: str
) -> None:
    store = Store(fresh_url)
    store.migrate()
    try:
        finished, _ = _finished_and_running(store)
        with pytest.raises(DatabaseError, match="kallisti: "):
            with store.engine.begin() as conn:
                conn.execute(sa.text(statement), {"id": str(finished)})
        assert store.trials.get(finished).status.value == "Stopped"
    finally:
        store.close()


def test_the_database_refuses_to_delete_a_running_trial_but_lets_it_change(
    fresh_url: str,
) -> None:
    store = Store(fresh_url)
    store.migrate()
    try:
        _, running = _finished_and_running(store)
        with pytest.raises(DatabaseError, match="trials cannot be deleted"):
            with store.engine.begin() as conn:
                conn.execute(
                    sa.text("DELETE FROM trials WHERE id = :id"), {"id": str(running)}
                )
        with store.engine.begin() as conn:
            changed = conn.execute(
                sa.text("UPDATE trials SET stop_reason = 'x' WHERE id = :id"),
                {"id": str(running)},
            ).rowcount
        assert changed == 1
    finally:
        store.close()


def test_migrate_run_from_several_processes_at_once_ends_at_one_head(
    fresh_url: str,
) -> None:
    env_url = fresh_url
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "kallisti", "migrate"],
            env={"KALLISTI_DATABASE_URL": env_url, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]

    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    store = Store(fresh_url)
    try:
        with store.read() as conn:
            versions = (
                conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                .scalars()
                .all()
            )
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        store.close()
    assert len(versions) == 1
    assert {"trials", "experiments", "workers"} <= tables


def test_trial_records_downgrade_and_upgrade_again_with_the_guards_in_place(
    fresh_url: str,
) -> None:
    from alembic import command

    from kallisti.store.migrate import alembic_config

    store = Store(fresh_url)
    store.migrate()
    try:
        finished, _ = _finished_and_running(store)
        for target, kind in (("0005", "jsonb"), ("head", "json")):
            config = alembic_config()
            with store.engine.begin() as conn:
                config.attributes["connection"] = conn
                if target == "head":
                    command.upgrade(config, target)
                else:
                    command.downgrade(config, target)
                if conn.dialect.name == "postgresql":
                    column = conn.execute(
                        sa.text(
                            "SELECT data_type FROM information_schema.columns "
                            "WHERE table_name = 'trials' "
                            "AND column_name = 'trial_record'"
                        )
                    ).scalar()
                    assert column == kind
            with pytest.raises(DatabaseError, match="a finished trial is immutable"):
                with store.engine.begin() as conn:
                    conn.execute(
                        sa.text("UPDATE trials SET trial_record = '{}' WHERE id = :id"),
                        {"id": str(finished)},
                    )
        assert store.trials.get(finished).status.value == "Stopped"
    finally:
        store.close()
