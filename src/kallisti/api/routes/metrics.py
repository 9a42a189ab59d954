"""/metrics: Prometheus text format, read from the store at each scrape.

Counts come from the database, so every API process reports the same numbers
whichever workers ran the trials.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kallisti import __version__
from kallisti.api.deps import State, Viewer
from kallisti.domain.models import TrialStatus
from kallisti.store import Store
from kallisti.store.tables import trials

router = APIRouter(tags=["service"])


class _TrialCollector(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        query = sa.select(trials.c.status, sa.func.count()).group_by(trials.c.status)
        with self._store.read() as conn:
            counts: dict[str, int] = {status: n for status, n in conn.execute(query)}
        by_status = GaugeMetricFamily(
            "kallisti_trials", "Trials in the store, by status.", labels=["status"]
        )
        for status in TrialStatus:
            by_status.add_metric([status.value], counts.get(status.value, 0))
        yield by_status
        info = GaugeMetricFamily(
            "kallisti_build_info", "Kallisti's version.", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info


@router.get("/metrics", response_class=Response)
def metrics(state: State, _: Viewer) -> Response:
    """Trial counts by status, in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_TrialCollector(state.store))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
