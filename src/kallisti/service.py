"""Wiring the parts together from one `Settings`: store, engine, worker, API."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import FastAPI

from kallisti.api import create_app
from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.record import Clock, utc_now
from kallisti.engine import TrialEngine
from kallisti.modules import ModuleRegistry
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.worker import Worker

__all__ = ["Service", "build_engine", "build_service"]


@dataclass
class Service:
    settings: Settings
    store: Store
    engine: TrialEngine
    worker: Worker
    app: FastAPI


def build_engine(settings: Settings, *, clock: Clock = utc_now) -> TrialEngine:
    """The engine with the modules and credential types the settings select."""
    credentials = CredentialRegistry.discover(
        CredentialContext(
            service_account_token_path=settings.k8s_service_account_token_path,
            environ=os.environ,
        ),
        settings.credential_map,
    )
    return TrialEngine(
        ModuleRegistry.discover(settings.module_map),
        credentials,
        step_timeout_seconds=settings.step_timeout_seconds,
        clock=clock,
    )


def build_service(
    settings: Settings, *, store: Store | None = None, clock: Clock = utc_now
) -> Service:
    """Build every part; the caller migrates, serves and runs the worker."""
    store = store or Store(settings.database_url, clock=clock)
    engine = build_engine(settings, clock=clock)
    worker = Worker(settings, store, engine)
    app = create_app(settings, store)
    if settings.run_worker:
        app.state.kallisti.trial_created_hooks.append(worker.wake)
        app.state.kallisti.stop_requested_hooks.append(worker.check_stop_requests)
        app.state.kallisti.local_worker_id = worker.worker_id
    return Service(settings, store, engine, worker, app)
