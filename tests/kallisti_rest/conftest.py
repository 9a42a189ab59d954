"""Kallisti 1.3.7's own REST tests (tests/kallisticore/views and serializers of
jpmorganchase/kallisti-core), ported to plain HTTP against a real service.

Each test keeps its original name and assertions and cites its original. The
originals build their objects with Kallisti's models and disconnect the signal
that runs trials; here objects are made through the API and the service runs no
worker, so trials stay `Scheduled` as theirs do. Every test starts from an
empty database, as Django's test cases do. An adaptation is made only where
SPEC's allowed differences (A1-A5) permit it, and says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from kallisti_objects import Api

from kallisti.store.tables import (
    experiments,
    notification_settings,
    schedules,
    trials,
)
from support import (
    ServiceThread,
    create_postgres_database,
    drop_postgres_database,
    service_settings,
)


@pytest.fixture(scope="session")
def _kallisti_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, ServiceThread]]:
    started: dict[str, ServiceThread] = {}
    created: list[str] = []
    yield started
    for thread in started.values():
        thread.stop()
    for url in created:
        drop_postgres_database(url)


def _database_url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'kallisti-rest.db'}"
    return create_postgres_database()


@pytest.fixture
def kallisti(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    _kallisti_services: dict[str, ServiceThread],
) -> Iterator[httpx.Client]:
    """A client of a service with no worker, over an emptied database."""
    if backend not in _kallisti_services:
        url = _database_url(backend, tmp_path_factory.mktemp("kallisti-rest"))
        settings = service_settings(url, run_worker=False)
        _kallisti_services[backend] = ServiceThread(settings).start()
    thread = _kallisti_services[backend]
    _empty(thread.service.store.engine)
    with httpx.Client(base_url=thread.url, timeout=30, verify=False) as client:
        client.engine = thread.service.store.engine  # type: ignore[attr-defined]
        yield client


def _empty(engine: sa.Engine) -> None:
    """Delete Kallisti's objects, also the trials the store's triggers protect (this
    test database is the test's own; the triggers are back afterwards)."""
    with engine.begin() as conn:
        triggers: list[str] = []
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).all()
            for name, sql in rows:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
                triggers.append(sql)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        # Kallisti's objects only: the audit log and switches keep their seeds.
        for table in (trials, schedules, experiments, notification_settings):
            conn.execute(table.delete())
        for sql in triggers:
            conn.exec_driver_sql(sql)


@pytest.fixture
def objects(kallisti: httpx.Client) -> Api:
    return Api(kallisti, kallisti.engine)  # type: ignore[attr-defined]
