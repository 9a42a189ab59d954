"""Fixtures for the `k8s` and `istio` tests: the loopback cluster, an engine, a runner.

The loopback cluster (tests/k8s_cluster) starts once per session and is reset
for each test. Trials run through the real engine with an in-memory recorder.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from k8s_steps import MemoryRecorder, RunTrial, Trial

from k8s_cluster import ADMIN_TOKEN, LoopbackCluster
from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.models import Step
from kallisti.engine import StopSignal, TrialEngine, TrialPlan
from kallisti.modules import ModuleRegistry


@pytest.fixture(scope="session")
def _loopback_cluster() -> Iterator[LoopbackCluster]:
    cluster = LoopbackCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster(_loopback_cluster: LoopbackCluster) -> LoopbackCluster:
    """The loopback cluster, fresh: namespaces default/kube-system, node-1/node-2."""
    _loopback_cluster.reset()
    return _loopback_cluster


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """A TOKEN_FILE holding the cluster's admin token."""
    path = tmp_path / "token"
    path.write_text(ADMIN_TOKEN + "\n")
    return path


@pytest.fixture
def service_account_dir(tmp_path: Path) -> Path:
    """Where the in-cluster service-account token lives (the admin token here)."""
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(ADMIN_TOKEN)
    return directory


@pytest.fixture
def credential_registry(service_account_dir: Path) -> CredentialRegistry:
    return CredentialRegistry.discover(
        CredentialContext(
            service_account_token_path=str(service_account_dir / "token"),
            environ=os.environ,
        )
    )


@pytest.fixture
def engine(credential_registry: CredentialRegistry) -> TrialEngine:
    return TrialEngine(
        ModuleRegistry.discover(), credential_registry, step_timeout_seconds=30
    )


@pytest.fixture
def access(cluster: LoopbackCluster, token_file: Path) -> dict[str, Any]:
    """`where` arguments reaching the loopback cluster as its admin."""
    return {
        "k8s_api_host": cluster.url,
        "credentials": {"type": "TOKEN_FILE", "token_path": str(token_file)},
    }


@pytest.fixture
def run_trial(engine: TrialEngine) -> RunTrial:
    """Run steps (dicts) through the engine: `await run_trial(step, ..., dry_run=)`."""

    async def run(
        *steps: Mapping[str, Any],
        post_steps: tuple[Mapping[str, Any], ...] = (),
        dry_run: bool = False,
        parameters: dict[str, Any] | None = None,
        engine_to_use: TrialEngine | None = None,
    ) -> Trial:
        plan = TrialPlan(
            trial_id=uuid.uuid4(),
            experiment_name="k8s test",
            pre_steps=(),
            steps=tuple(Step(**step) for step in steps),
            post_steps=tuple(Step(**step) for step in post_steps),
            parameters=parameters or {},
            dry_run=dry_run,
        )
        recorder = MemoryRecorder()
        status = await (engine_to_use or engine).run(plan, recorder, StopSignal())
        assert recorder.status == status
        return Trial(status, recorder.record)

    return run


@pytest.fixture(scope="session")
def _loopback_tls_cluster() -> Iterator[LoopbackCluster]:
    cluster = LoopbackCluster(tls=True).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def tls_cluster(_loopback_tls_cluster: LoopbackCluster) -> LoopbackCluster:
    """A second loopback cluster, served over HTTPS with a self-signed CA."""
    _loopback_tls_cluster.reset()
    return _loopback_tls_cluster


@pytest.fixture
def tls_ca_file(tls_cluster: LoopbackCluster, tmp_path: Path) -> Path:
    assert tls_cluster.ca_pem is not None
    path = tmp_path / "loopback-ca.crt"
    path.write_bytes(tls_cluster.ca_pem)
    return path
