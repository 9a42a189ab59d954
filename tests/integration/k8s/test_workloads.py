"""Deployments, replica sets and stateful sets: scale, delete, restart, read."""

from __future__ import annotations

from typing import Any

from k8s_steps import RunTrial, step

from k8s_cluster import LoopbackCluster, manifests
from kallisti.domain.models import TrialStatus

NS = "shop"


def _deployment(cluster: LoopbackCluster, name: str = "web", replicas: int = 2) -> None:
    if cluster.find("namespaces", NS) is None:
        cluster.apply(manifests.namespace(NS))
    cluster.apply(manifests.deployment(name, NS, replicas=replicas))
    cluster.wait_until(lambda: len(cluster.pod_names(NS, app=name)) == replicas)


def _replicas(cluster: LoopbackCluster, plural: str, name: str) -> int:
    found = cluster.find(plural, name, NS, group="apps")
    assert found is not None
    return int(found["spec"]["replicas"])


async def test_scale_deployment_changes_replicas_and_the_pods_follow(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, replicas=2)

    trial = await run_trial(
        step("k8s.scale_deployment", {**access, "name": "web", "replicas": 4, "ns": NS})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert "Scaled deployment 'web' in namespace 'shop' from 2 to 4" in trial.log_text()
    assert "'previous_replicas': 2" in trial.log_text()
    cluster.wait_until(lambda: len(cluster.pod_names(NS, app="web")) == 4)


async def test_scale_microservice_is_kallistis_name_for_scale_deployment(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, replicas=2)

    trial = await run_trial(
        step(
            "k8s.scale_microservice", {**access, "name": "web", "replicas": 0, "ns": NS}
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    cluster.wait_until(lambda: cluster.pod_names(NS, app="web") == [])


async def test_scale_deployment_dry_run_reports_the_change_without_making_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, replicas=2)

    trial = await run_trial(
        step(
            "k8s.scale_deployment", {**access, "name": "web", "replicas": 5, "ns": NS}
        ),
        dry_run=True,
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert (
        "Dry run: would scale deployment 'web' in namespace 'shop' from 2 to 5 "
        "replica(s). Nothing was changed." in trial.log_text()
    )
    assert cluster.writes() == []
    assert _replicas(cluster, "deployments", "web") == 2


async def test_scale_deployment_of_a_missing_deployment_names_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster)

    trial = await run_trial(
        step(
            "k8s.scale_deployment", {**access, "name": "nope", "replicas": 1, "ns": NS}
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f'Not found on the Kubernetes API at {cluster.url}: deployments.apps "nope" '
        "not found."
    )


async def test_scale_deployment_refuses_negative_replicas_before_calling_the_api(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster)

    trial = await run_trial(
        step(
            "k8s.scale_deployment", {**access, "name": "web", "replicas": -1, "ns": NS}
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert "`replicas` must be at least 0, not -1." in trial.error()
    assert cluster.writes() == []


async def test_delete_deployment_by_name_takes_its_pods_with_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, "web")
    _deployment(cluster, "api", replicas=1)

    trial = await run_trial(
        step("k8s.delete_deployment", {**access, "name": "web", "ns": NS})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert "Result: ['web']" in trial.log_text()
    cluster.wait_until(lambda: cluster.pod_names(NS, app="web") == [])
    assert cluster.find("deployments", "api", NS, group="apps") is not None


async def test_delete_deployment_by_label_selector(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, "web")
    _deployment(cluster, "api", replicas=1)

    trial = await run_trial(
        step(
            "k8s.delete_deployment",
            {**access, "label_selector": "app in (api)", "ns": NS},
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert [
        d["metadata"]["name"] for d in cluster.objects("deployments", NS, group="apps")
    ] == ["web"]


async def test_delete_deployment_that_matches_nothing_fails(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster)

    trial = await run_trial(
        step("k8s.delete_deployment", {**access, "name": "gone", "ns": NS})
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith("No deployment named 'gone' in namespace 'shop'.")


async def test_delete_replica_set_is_recreated_by_its_deployment(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, "web", replicas=1)
    [replica_set] = cluster.objects("replicasets", NS, group="apps")
    old_uid = replica_set["metadata"]["uid"]

    trial = await run_trial(
        step(
            "k8s.delete_replica_set", {**access, "label_selector": "app=web", "ns": NS}
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert f"Result: ['{replica_set['metadata']['name']}']" in trial.log_text()
    cluster.wait_until(
        lambda: (
            [
                rs["metadata"]["uid"]
                for rs in cluster.objects("replicasets", NS, group="apps")
            ]
            not in ([], [old_uid])
        ),
        what="a new replica set",
    )


async def test_scale_statefulset_adds_ordinal_pods(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.namespace(NS))
    cluster.apply(manifests.statefulset("db", NS, replicas=1))

    trial = await run_trial(
        step("k8s.scale_statefulset", {**access, "name": "db", "replicas": 3, "ns": NS})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    cluster.wait_until(
        lambda: sorted(cluster.pod_names(NS, app="db")) == ["db-0", "db-1", "db-2"]
    )


async def test_remove_statefulset_deletes_it_and_its_pods(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.namespace(NS))
    cluster.apply(manifests.statefulset("db", NS, replicas=2))
    cluster.wait_until(lambda: len(cluster.pod_names(NS, app="db")) == 2)

    trial = await run_trial(
        step("k8s.remove_statefulset", {**access, "name": "db", "ns": NS})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert cluster.find("statefulsets", "db", NS, group="apps") is None
    cluster.wait_until(lambda: cluster.pod_names(NS, app="db") == [])


async def test_terminated_statefulset_pod_comes_back_with_the_same_name(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.namespace(NS))
    cluster.apply(manifests.statefulset("db", NS, replicas=2))
    cluster.wait_until(lambda: len(cluster.pod_names(NS, app="db")) == 2)
    old = cluster.find("pods", "db-0", NS)
    assert old is not None

    await run_trial(
        step("k8s.terminate_pods", {**access, "name_pattern": "^db-0$", "ns": NS})
    )

    def replaced() -> bool:
        new = cluster.find("pods", "db-0", NS)
        return new is not None and new["metadata"]["uid"] != old["metadata"]["uid"]

    cluster.wait_until(replaced, what="db-0 recreated")


async def test_read_deployment_feeds_expect(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, replicas=2)
    cluster.wait_until(
        lambda: (
            (cluster.find("deployments", "web", NS, group="apps") or {})
            .get("status", {})
            .get("availableReplicas")
            == 2
        )
    )

    trial = await run_trial(
        step(
            "k8s.read_deployment",
            {**access, "name": "web", "ns": NS},
            expect=[
                {"operator": "eq", "available": True},
                {"operator": "ge", "ready_replicas": 2},
            ],
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record


async def test_deployment_probes_from_the_driver_pass_and_fail(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, replicas=2)
    where = {**access, "name": "web", "ns": NS}

    healthy = await run_trial(
        step("k8s.deployment_fully_available", {**where, "timeout": 5}),
        step(
            "k8s.deployment_available_and_healthy",
            where,
            expect=[{"operator": "eq", "value": True}],
        ),
    )
    missing = await run_trial(
        step("k8s.deployment_available_and_healthy", {**where, "name": "absent"})
    )

    assert healthy.status is TrialStatus.SUCCEEDED, healthy.record
    assert missing.status is TrialStatus.FAILED
    assert missing.error().endswith(
        "deployment_available_and_healthy: Deployment 'absent' was not found"
    )


async def test_rollout_deployment_replaces_every_pod(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _deployment(cluster, replicas=2)
    before = set(cluster.pod_names(NS, app="web"))

    trial = await run_trial(
        step("k8s.rollout_deployment", {**access, "name": "web", "ns": NS})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    cluster.wait_until(
        lambda: (
            len(cluster.pod_names(NS, app="web")) == 2
            and not before & set(cluster.pod_names(NS, app="web"))
        ),
        what="two new pods",
    )


async def test_kill_microservice_deletes_the_deployment_its_replica_sets_and_pods(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.deployment("web", replicas=2, labels={"name": "web"}))
    cluster.apply(manifests.deployment("api", replicas=1, labels={"name": "api"}))
    cluster.wait_until(lambda: len(cluster.pod_names("default")) == 3)

    trial = await run_trial(step("k8s.kill_microservice", {**access, "name": "web"}))

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert cluster.find("deployments", "web", "default", group="apps") is None
    cluster.settle()
    replica_sets = cluster.objects("replicasets", "default", group="apps")
    assert [rs["metadata"]["labels"]["name"] for rs in replica_sets] == ["api"]
    assert cluster.pod_names("default", name="web") == []
    assert len(cluster.pod_names("default", name="api")) == 1
