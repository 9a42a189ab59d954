"""Every built-in changing action, in a dry run, changes nothing and says so.

Each changing action of the module catalogue runs in a dry-run trial of its
own, against the real test targets (the loopback Kubernetes cluster, moto, the
Cloud Foundry test API, an HTTP server), with its required arguments filled by
type. A step that completes must say what it would have done ("Dry run: ...");
one may fail (its made-up target does not exist) but never change anything.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cf_api import CloudFoundryApi
from cf_api.server import PASSWORD, USERNAME
from k8s_cluster import ADMIN_TOKEN, LoopbackCluster, manifests
from kallisti.credentials import CredentialContext, CredentialRegistry
from kallisti.domain.models import Step, TrialStatus
from kallisti.domain.record import TrialRecord
from kallisti.engine import StopSignal, TrialEngine, TrialPlan
from kallisti.modules import ModuleRegistry
from kallisti.modules.catalogue import ActionInfo, describe_action
from support import ProbeTarget

_ACCESS = {
    "k8s_api_host",
    "credentials",
    "cf_api_url",
    "region",
    "dry_run",
    "step_context",
}


class _Recorder:
    def __init__(self) -> None:
        self.record: dict[str, Any] = {}

    def changed(self, record: TrialRecord) -> None:
        pass

    async def close(self, status: TrialStatus, record: TrialRecord) -> None:
        self.record = record.to_json()


@pytest.fixture
def loopback_cluster() -> Iterator[LoopbackCluster]:
    cluster = LoopbackCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cf_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudFoundryApi]:
    api = CloudFoundryApi().start()
    org = api.add_org("chaos")
    api.add_app("chaos", api.add_space("chaos", org), instances=2)
    monkeypatch.setenv("CF_USERNAME", USERNAME)
    monkeypatch.setenv("CF_PASSWORD", PASSWORD)
    yield api
    api.stop()


def _value(type_name: str) -> Any:
    kind = type_name.lower()
    if "bool" in kind:
        return False
    if "int" in kind:
        return 1
    if "float" in kind:
        return 1.0
    if "list" in kind or "sequence" in kind:
        return ["chaos"]
    if "dict" in kind or "mapping" in kind:
        return {"chaos": "chaos"}
    return "chaos"


def _where(info: ActionInfo, access: dict[str, Any]) -> dict[str, Any]:
    where = {
        argument.name: _value(argument.type)
        for argument in info.arguments
        if argument.required and argument.name not in _ACCESS
    }
    return {**where, **{k: v for k, v in access.items() if info.argument(k)}}


def test_every_changing_action_in_a_dry_run_changes_nothing_and_says_so(
    aws: str,
    loopback_cluster: LoopbackCluster,
    cf_api: CloudFoundryApi,
    probe_target: ProbeTarget,
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text(ADMIN_TOKEN)
    loopback_cluster.apply(manifests.deployment("chaos", replicas=2))
    loopback_cluster.apply(manifests.service("chaos"))
    access = {
        "k8s_api_host": loopback_cluster.url,
        "credentials": {"type": "TOKEN_FILE", "token_path": str(token)},
        "cf_api_url": cf_api.url,
        "region": "eu-west-1",
        "url": probe_target.url,
        "time_in_seconds": 0,
    }

    def access_of(do: str) -> dict[str, Any]:
        if do.startswith(("k8s.", "istio.")):
            return access
        return {k: v for k, v in access.items() if k != "credentials"}

    registry = ModuleRegistry.discover()
    engine = TrialEngine(
        registry,
        CredentialRegistry.discover(
            CredentialContext(service_account_token_path=str(token), environ=os.environ)
        ),
        step_timeout_seconds=10,
    )
    actions = [
        action
        for namespace in ("k8s", "istio", "aws", "cf", "cm", "prom")
        for action in registry.actions(namespace)
        if not action.is_read_only
    ]

    async def dry_run(do: str, where: dict[str, Any]) -> dict[str, Any]:
        plan = TrialPlan(
            trial_id=uuid.uuid4(),
            experiment_name="dry run everywhere",
            pre_steps=(),
            steps=(Step(do=do, where=where),),
            post_steps=(),
            dry_run=True,
        )
        recorder = _Recorder()
        await engine.run(plan, recorder, StopSignal())
        return recorder.record

    async def run_all() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                *(
                    dry_run(a.do, _where(describe_action(a), access_of(a.do)))
                    for a in actions
                )
            )
        )

    try:
        records = asyncio.run(run_all())
    finally:
        engine.close()

    silent = []
    completed = 0
    for action, record in zip(actions, records, strict=True):
        logs = [line.split("] ", 1)[-1] for line in record["steps"][0]["logs"]]
        if logs[-1] == "Completed.":
            completed += 1
            if not any(line.startswith("Dry run: ") for line in logs):
                silent.append((action.do, logs))
    assert silent == [], "completed in a dry run without saying what it would do"
    # Most complete (93 of 179 here); the rest fail on their made-up targets.
    assert completed > len(actions) // 3
    assert loopback_cluster.writes() == []
    assert cf_api.changes() == []
    assert probe_target.requests == []
