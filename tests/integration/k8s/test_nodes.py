"""Node chaos: cordon, uncordon, drain."""

from __future__ import annotations

from typing import Any

from k8s_steps import RunTrial, step

from k8s_cluster import LoopbackCluster, manifests
from kallisti.domain.models import TrialStatus


def _unschedulable(cluster: LoopbackCluster, node: str) -> bool:
    found = cluster.find("nodes", node)
    assert found is not None
    return bool(found["spec"].get("unschedulable"))


async def test_cordon_node_marks_it_unschedulable_and_uncordon_reverts_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cordon = await run_trial(step("k8s.cordon_node", {**access, "name": "node-1"}))
    cordoned = _unschedulable(cluster, "node-1"), _unschedulable(cluster, "node-2")
    uncordon = await run_trial(step("k8s.uncordon_node", {**access, "name": "node-1"}))

    assert cordon.status is TrialStatus.SUCCEEDED
    assert "Result: ['node-1']" in cordon.log_text()
    assert cordoned == (True, False)
    assert uncordon.status is TrialStatus.SUCCEEDED
    assert not _unschedulable(cluster, "node-1")


async def test_cordon_node_by_label_selector_cordons_every_matching_node(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.node("gpu-1", {"pool": "gpu"}))
    cluster.apply(manifests.node("gpu-2", {"pool": "gpu"}))

    trial = await run_trial(
        step("k8s.cordon_node", {**access, "label_selector": "pool=gpu"})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert "Result: ['gpu-1', 'gpu-2']" in trial.log_text()
    assert [_unschedulable(cluster, n) for n in ("gpu-1", "gpu-2", "node-1")] == [
        True,
        True,
        False,
    ]


async def test_cordoned_node_receives_no_new_pods(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    await run_trial(step("k8s.cordon_node", {**access, "name": "node-1"}))

    cluster.apply(manifests.deployment("web", replicas=4))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 4)
    cluster.settle()

    nodes = {pod["spec"].get("nodeName") for pod in cluster.objects("pods", "default")}
    assert nodes == {"node-2"}


async def test_cordon_of_an_unknown_node_fails_clearly(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(step("k8s.cordon_node", {**access, "name": "node-9"}))

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith("No nodes match name 'node-9'.")


async def test_cordon_dry_run_changes_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.cordon_node", {**access, "name": "node-1"}), dry_run=True
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert (
        "Dry run: would cordon node(s) node-1. Nothing was changed." in trial.log_text()
    )
    assert not _unschedulable(cluster, "node-1")


async def test_drain_nodes_evicts_managed_pods_which_come_back_elsewhere(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.deployment("web", replicas=4))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 4)
    cluster.settle()
    on_node_1 = [
        p["metadata"]["name"]
        for p in cluster.objects("pods", "default")
        if p["spec"]["nodeName"] == "node-1"
    ]

    trial = await run_trial(
        step("k8s.drain_nodes", {**access, "name": "node-1", "timeout": 10}),
        post_steps=(step("k8s.uncordon_node", {**access, "name": "node-1"}),),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert on_node_1 and all(
        f"default/{name}" in trial.log_text() for name in on_node_1
    )
    evictions = [r for r in cluster.writes() if r.path.endswith("/eviction")]
    assert len(evictions) == len(on_node_1)
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 4)


async def test_drain_refuses_a_node_running_a_pod_without_controller(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    bare = manifests.pod("bare")
    bare["spec"]["nodeName"] = "node-2"
    cluster.apply(bare)

    trial = await run_trial(step("k8s.drain_nodes", {**access, "name": "node-2"}))

    assert trial.status is TrialStatus.FAILED
    assert "Pod default/bare on node 'node-2' has no controller" in trial.error()
    assert cluster.find("pods", "bare", "default") is not None


async def test_delete_nodes_all_deletes_every_node_matching_the_selector_only(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.node("gpu-1", {"pool": "gpu"}))
    cluster.apply(manifests.node("gpu-2", {"pool": "gpu"}))
    on_gpu = manifests.pod("on-gpu")
    on_gpu["spec"]["nodeName"] = "gpu-1"
    cluster.apply(on_gpu)

    trial = await run_trial(
        step("k8s.delete_nodes", {**access, "label_selector": "pool=gpu", "all": True})
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert "Deleted node(s): gpu-1, gpu-2." in trial.log_text()
    assert [n["metadata"]["name"] for n in cluster.objects("nodes")] == [
        "node-1",
        "node-2",
    ]
    cluster.settle()  # the pod bound to a deleted node is collected
    assert cluster.find("pods", "on-gpu", "default") is None


async def test_delete_nodes_without_all_deletes_only_the_first_match(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(step("k8s.delete_nodes", access))

    assert trial.status is TrialStatus.SUCCEEDED
    assert [n["metadata"]["name"] for n in cluster.objects("nodes")] == ["node-2"]


def _web_on_both_nodes(cluster: LoopbackCluster, replicas: int) -> list[str]:
    """Deployment `web` spread over node-1 and node-2: the pods on node-1."""
    cluster.apply(manifests.deployment("web", replicas=replicas))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == replicas)
    cluster.settle()
    return [
        p["metadata"]["name"]
        for p in cluster.objects("pods", "default")
        if p["spec"]["nodeName"] == "node-1"
    ]


async def test_drain_stops_and_names_the_disruption_budget_that_refuses_eviction(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    on_node_1 = _web_on_both_nodes(cluster, replicas=2)
    cluster.apply(
        manifests.disruption_budget("web-budget", {"app": "web"}, min_available=2)
    )

    trial = await run_trial(
        step("k8s.drain_nodes", {**access, "name": "node-1", "timeout": 1})
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f"Draining stopped: the Kubernetes API refused to evict pod "
        f"default/{on_node_1[0]} for 1s (429): The disruption budget web-budget "
        "needs 2 healthy pods and has 2 currently. Node(s) node-1 stay cordoned; "
        "uncordon them in post steps."
    )
    assert sorted(cluster.pod_names("default", app="web")) == sorted(
        cluster.pod_names("default")
    )
    assert all(cluster.find("pods", name, "default") is not None for name in on_node_1)


async def test_drain_waits_for_the_disruption_budget_to_allow_each_eviction(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    on_node_1 = _web_on_both_nodes(cluster, replicas=4)
    cluster.apply(
        manifests.disruption_budget("web-budget", {"app": "web"}, max_unavailable=1)
    )

    trial = await run_trial(
        step("k8s.drain_nodes", {**access, "name": "node-1", "timeout": 10}),
        post_steps=(step("k8s.uncordon_node", {**access, "name": "node-1"}),),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert len(on_node_1) == 2
    assert not set(on_node_1) & set(cluster.pod_names("default"))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 4)
