"""The chaostoolkit-kubernetes and -istio catalogue: all callable, nothing global."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import chaosistio
import chaosk8s
import pytest
from chaosk8s.namespace.probes import namespace_exists
from k8s_steps import RunTrial, step

from k8s_cluster import LoopbackCluster
from kallisti.domain.models import TrialStatus
from kallisti.modules import ModuleRegistry

ACCESS = {"k8s_api_host", "credentials", "platform", "cluster_name", "region", "role"}


@pytest.mark.parametrize(
    ("namespace", "activities"),
    [
        ("k8s", chaosk8s.load_exported_activities()),
        ("istio", chaosistio.load_exported_activities()),
        ("k8s", chaosistio.load_exported_activities()),
    ],
    ids=["chaostoolkit-kubernetes", "chaostoolkit-istio", "istio-in-k8s-as-kallisti"],
)
def test_every_driver_activity_is_an_action_with_kallisti_access_arguments(
    namespace: str, activities: list[dict[str, Any]]
) -> None:
    registry = ModuleRegistry.discover()
    for activity in activities:
        action = registry.resolve(f"{namespace}.{activity['name']}")
        parameters = set(action.signature.parameters)
        assert ACCESS <= parameters, activity["name"]
        assert not {"secrets", "configuration"} & parameters, activity["name"]
        # Actions change things, so they take `dry_run`. (The drivers' own
        # discovery lists some probes as actions: their module says which.)
        if activity["mod"].endswith(".actions"):
            assert "dry_run" in parameters, activity["name"]
        assert all(
            p.kind is inspect.Parameter.KEYWORD_ONLY
            for p in action.signature.parameters.values()
        )


async def test_driver_action_and_probe_run_on_the_step_client(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.create_namespace", {**access, "name": "made-by-driver"}),
        step(
            "k8s.namespace_exists",
            {**access, "name": "made-by-driver"},
            expect=[{"operator": "eq", "value": True}],
        ),
        step(
            "k8s.get_nodes",
            access,
            expect=[{"operator": "eq", "items.1.metadata.name": "node-2"}],
        ),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert cluster.find("namespaces", "made-by-driver") is not None


async def test_driver_dry_run_checks_the_cluster_and_changes_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.create_namespace", {**access, "name": "not-made"}), dry_run=True
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert (
        f"Dry run: the cluster at {cluster.url} answers; would call "
        "create_namespace(name='not-made'). Nothing was changed." in trial.log_text()
    )
    assert cluster.writes() == []


async def test_driver_errors_are_translated_like_ours(
    cluster: LoopbackCluster, tmp_path: Path, run_trial: RunTrial
) -> None:
    token = tmp_path / "wrong"
    token.write_text("wrong-token")

    trial = await run_trial(
        step(
            "k8s.create_namespace",
            {
                "name": "x",
                "k8s_api_host": cluster.url,
                "credentials": {"type": "TOKEN_FILE", "token_path": str(token)},
            },
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert "rejected the credentials (401 Unauthorized)" in trial.error()


async def test_drivers_called_outside_a_step_refuse_to_read_kubeconfig(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    await run_trial(step("k8s.namespace_exists", {**access, "name": "default"}))

    with pytest.raises(RuntimeError, match="outside a Kallisti k8s step"):
        namespace_exists("default")
