"""Persistence: tables, repositories, migrations and the worker's claim queries."""

from kallisti.store.repositories import (
    ExperimentRepository,
    Page,
    TrialFilter,
    TrialRepository,
)
from kallisti.store.store import Store

__all__ = ["ExperimentRepository", "Page", "Store", "TrialFilter", "TrialRepository"]
