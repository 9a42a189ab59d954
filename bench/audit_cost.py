"""What the audit trail's hash chain costs per write.

Creates trials through the store (one audited transaction each) with the chain
on, then with the append replaced by a no-op, on SQLite and on PostgreSQL
(127.0.0.1:5432), sequentially and from 8 threads at once:

    .venv/bin/python -m bench.audit_cost [trials-per-run]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from kallisti.domain.models import ExperimentCreate, TrialCreate
from kallisti.store import Store, repositories

_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_WAIT = {"step": "Wait", "do": "cm.wait", "where": {"time_in_seconds": 0}}


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"kallisti_audit_bench_{int(time.time())}"
    with psycopg.connect(_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(store: Store, trials: int, threads: int) -> float:
    """Trials created per second."""
    experiment = store.experiments.create(
        ExperimentCreate.model_validate({"name": "bench", "steps": [_WAIT]}), "bench"
    )
    request = TrialCreate(experiment=experiment.id)
    each = trials // threads
    start = threading.Barrier(threads + 1)

    def work() -> None:
        start.wait()
        for _ in range(each):
            store.trials.create(request, initiated_by="bench", initiated_from="api")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - began)


def _replace_append(timings: list[float] | None) -> Callable[[], None]:
    """Time each append (timings given), or skip it (None)."""
    original = repositories.audit_changes

    def timed(*args: Any, **kwargs: Any) -> None:
        began = time.perf_counter()
        original(*args, **kwargs)
        assert timings is not None
        timings.append(time.perf_counter() - began)

    def skip(*_: Any, **__: Any) -> None:
        return None

    repositories.audit_changes = timed if timings is not None else skip

    def restore() -> None:
        repositories.audit_changes = original

    return restore


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    header = ("database", "threads", "chain on", "chain off", "append p50", "p95")
    print("{:<11} {:>7} {:>10} {:>10} {:>11} {:>9}".format(*header))  # noqa: T201
    for kind in ("sqlite", "postgresql"):
        for threads in (1, 8):
            rates: dict[bool, float] = {}
            timings: list[float] = []
            for audited in (True, False):
                with _database(kind) as url:
                    store = Store(url)
                    store.migrate()
                    restore = _replace_append(timings if audited else None)
                    try:
                        rates[audited] = _run(store, trials, threads)
                    finally:
                        restore()
                        if audited:
                            assert store.audit.verify().ok
                        store.close()
            timings.sort()
            p50, p95 = (timings[int(len(timings) * q)] * 1000 for q in (0.5, 0.95))
            print(  # noqa: T201
                f"{kind:<11} {threads:>7} {rates[True]:>8.0f}/s {rates[False]:>8.0f}/s "
                f"{p50:>8.3f} ms {p95:>6.3f} ms"
            )


if __name__ == "__main__":
    main()
