"""`k8s.terminate_pods` and the pod probes, end to end against the loopback cluster."""

from __future__ import annotations

from typing import Any

from k8s_steps import RunTrial, step

from k8s_cluster import (
    PHASE_ANNOTATION,
    TERMINATING_ANNOTATION,
    LoopbackCluster,
    manifests,
)
from kallisti.domain.models import TrialStatus


def _hello_world(
    cluster: LoopbackCluster, replicas: int = 4, ns: str = "my-namespace"
) -> list[str]:
    cluster.apply(manifests.namespace(ns))
    cluster.apply(manifests.deployment("hello-world", ns, replicas=replicas))
    cluster.wait_until(
        lambda: len(cluster.pod_names(ns, app="hello-world")) == replicas
    )
    return sorted(cluster.pod_names(ns, app="hello-world"))


def _result(trial: Any, index: int = 0) -> str:
    return next(line for line in trial.logs(index) if "Result: " in line)


async def test_terminate_pods_by_label_kills_one_pod_and_logs_its_name(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    before = _hello_world(cluster)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "qty": 1,
                "ns": "my-namespace",
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    # Alphabetic order: the first pod by name is the one terminated.
    assert "Terminated 1 pod(s) in namespace 'my-namespace'" in trial.log_text()
    assert before[0] in trial.log_text()
    assert f"Result: ['{before[0]}']" in _result(trial)
    deletes = [r for r in cluster.writes() if r.verb == "delete"]
    assert [r.path.rsplit("/", 1)[1] for r in deletes] == [before[0]]


async def test_terminate_pods_name_pattern_narrows_the_label_selection(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.pod("web-a", labels={"tier": "front"}))
    cluster.apply(manifests.pod("web-b", labels={"tier": "front"}))
    cluster.apply(manifests.pod("api-a", labels={"tier": "front"}))

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "tier=front",
                "name_pattern": "^api-",
                "all": True,
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert sorted(cluster.pod_names("default")) == ["web-a", "web-b"]


async def test_terminate_pods_all_kills_every_matching_pod(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    before = _hello_world(cluster, replicas=3)
    cluster.apply(manifests.pod("bystander", "my-namespace", {"app": "other"}))

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "all": True,
                "ns": "my-namespace",
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert f"Result: {before}" in _result(trial)
    assert "bystander" in cluster.pod_names("my-namespace")


async def test_terminate_pods_percentage_mode_kills_half_the_matching_pods(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    before = _hello_world(cluster, replicas=4)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "mode": "percentage",
                "qty": 50,
                "ns": "my-namespace",
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert f"Result: {before[:2]}" in _result(trial)


async def test_terminate_pods_percentage_mode_rounds_up(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=3)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "mode": "percentage",
                "qty": 50,
                "ns": "my-namespace",
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert len([r for r in cluster.writes() if r.verb == "delete"]) == 2


async def test_terminate_pods_rand_picks_qty_of_the_matching_pods(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    before = _hello_world(cluster, replicas=4)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "rand": True,
                "qty": 2,
                "ns": "my-namespace",
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    killed = [r.path.rsplit("/", 1)[1] for r in cluster.writes() if r.verb == "delete"]
    assert len(killed) == 2 and set(killed) <= set(before)


async def test_terminate_pods_sends_the_grace_period_when_given(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=2)
    where = {**access, "label_selector": "app=hello-world", "ns": "my-namespace"}

    await run_trial(
        step("k8s.terminate_pods", {**where, "grace_period": 5}),
        step("k8s.terminate_pods", where),
    )

    bodies = [r.body for r in cluster.writes() if r.verb == "delete"]
    assert bodies[0]["gracePeriodSeconds"] == 5
    assert "gracePeriodSeconds" not in (bodies[1] or {})


async def test_terminate_pods_leaves_other_namespaces_alone(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=1, ns="my-namespace")
    _hello_world(cluster, replicas=1, ns="other")
    other_before = cluster.pod_names("other")

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {**access, "label_selector": "app=hello-world", "ns": "my-namespace"},
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert cluster.pod_names("other") == other_before


async def test_terminated_deployment_pod_comes_back_under_a_new_name(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    before = _hello_world(cluster, replicas=2)

    await run_trial(
        step(
            "k8s.terminate_pods",
            {**access, "label_selector": "app=hello-world", "ns": "my-namespace"},
        )
    )

    cluster.wait_until(
        lambda: len(cluster.pod_names("my-namespace", app="hello-world")) == 2,
        what="the deployment's pod count back to 2",
    )
    after = cluster.pod_names("my-namespace", app="hello-world")
    assert before[0] not in after and before[1] in after


async def test_terminate_pods_fails_clearly_when_no_pod_matches(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=1)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {**access, "label_selector": "app=goodbye-world", "ns": "my-namespace"},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error() == (
        "Step failed. Type: StepFailed. Error: No pods match label_selector "
        "'app=goodbye-world' in namespace 'my-namespace'."
    )


async def test_terminate_pods_fails_clearly_when_the_namespace_is_missing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {**access, "label_selector": "app=hello-world", "ns": "no-such-namespace"},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        "Namespace 'no-such-namespace' does not exist on the Kubernetes API at "
        f"{cluster.url}."
    )


async def test_terminate_pods_dry_run_names_the_pods_and_deletes_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    before = _hello_world(cluster, replicas=3)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "qty": 2,
                "ns": "my-namespace",
            },
        ),
        dry_run=True,
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert (
        "Dry run: would terminate 2 pod(s) in namespace 'my-namespace' (each pod's "
        f"own grace period): {before[0]}, {before[1]}. Nothing was changed."
        in trial.log_text()
    )
    assert cluster.writes() == []
    assert sorted(cluster.pod_names("my-namespace")) == before


async def test_terminate_pods_rejects_an_unknown_mode(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=1)

    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {
                **access,
                "label_selector": "app=hello-world",
                "mode": "most",
                "ns": "my-namespace",
            },
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert "`mode` must be one of 'fixed', 'percentage', not 'most'." in trial.error()
    assert cluster.writes() == []


async def test_list_pods_result_is_usable_in_expect(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=2)

    trial = await run_trial(
        step(
            "k8s.list_pods",
            {**access, "label_selector": "app=hello-world", "ns": "my-namespace"},
            expect=[
                {"operator": "eq", "count": 2},
                {"operator": "eq", "ready": 2},
                {"operator": "eq", "pods.0.phase": "Running"},
            ],
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record


async def test_count_pods_probe_from_the_driver_checks_in_expect(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _hello_world(cluster, replicas=3)
    where = {**access, "label_selector": "app=hello-world", "ns": "my-namespace"}

    passing = await run_trial(
        step("k8s.count_pods", where, expect=[{"operator": "eq", "value": 3}])
    )
    failing = await run_trial(
        step("k8s.count_pods", where, expect=[{"operator": "lt", "value": 3}])
    )

    assert passing.status is TrialStatus.SUCCEEDED
    assert failing.status is TrialStatus.FAILED
    assert "Expectation failed" in failing.error()


async def test_pods_in_phase_probe_fails_with_the_driver_message_for_a_failed_pod(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    broken = manifests.pod("broken", "default", {"app": "web"})
    broken["metadata"]["annotations"] = {PHASE_ANNOTATION: "Failed"}
    cluster.apply(broken)
    cluster.settle()

    trial = await run_trial(
        step(
            "k8s.pods_in_phase",
            {**access, "label_selector": "app=web", "phase": "Running"},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().startswith(
        "Step failed. Type: StepFailed. Error: pods_in_phase: "
    )
    assert "Failed" in trial.error()


def _stubborn_pods(cluster: LoopbackCluster, *names: str) -> None:
    """Bare pods labelled app=web whose containers ignore SIGTERM, on a node."""
    for name in names:
        pod = manifests.pod(name, labels={"app": "web"})
        pod["metadata"]["annotations"] = {TERMINATING_ANNOTATION: "true"}
        cluster.apply(pod)
    cluster.settle()


def _terminating(cluster: LoopbackCluster, name: str) -> bool:
    found = cluster.find("pods", name, "default")
    return found is not None and "deletionTimestamp" in found["metadata"]


async def test_terminate_pods_skips_a_pod_already_terminating(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _stubborn_pods(cluster, "web-a", "web-b", "web-c")
    where = {**access, "label_selector": "app=web", "grace_period": 30}

    trial = await run_trial(
        step("k8s.terminate_pods", where),
        step("k8s.terminate_pods", where),
        step("k8s.terminate_pods", {**where, "mode": "percentage", "qty": 100}),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert "Result: ['web-a']" in _result(trial, 0)
    assert "Result: ['web-b']" in _result(trial, 1)
    # 100% of the pods not yet terminating: web-c alone.
    assert "Result: ['web-c']" in _result(trial, 2)
    assert all(_terminating(cluster, name) for name in ("web-a", "web-b", "web-c"))
    deletes = [r.path.rsplit("/", 1)[1] for r in cluster.writes() if r.verb == "delete"]
    assert deletes == ["web-a", "web-b", "web-c"]


async def test_terminate_pods_fails_when_every_match_is_already_terminating(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _stubborn_pods(cluster, "web-a")
    where = {**access, "label_selector": "app=web", "grace_period": 30}

    trial = await run_trial(
        step("k8s.terminate_pods", where), step("k8s.terminate_pods", where)
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error(1).endswith(
        "No pods match label_selector 'app=web' in namespace 'default'."
    )
    assert _terminating(cluster, "web-a")


async def test_delete_pods_deletes_one_pod_by_name_pattern_not_a_terminating_one(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    _stubborn_pods(cluster, "web-a", "web-b")
    cluster.apply(manifests.pod("api-a", labels={"app": "web"}))

    trial = await run_trial(
        step("k8s.terminate_pods", {**access, "name_pattern": "^web-a$"}),
        step("k8s.delete_pods", {**access, "name": "^web-"}),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert "Result: ['web-b']" in _result(trial, 1)
    assert _terminating(cluster, "web-a") and _terminating(cluster, "web-b")
    assert cluster.find("pods", "api-a", "default") is not None
    assert not _terminating(cluster, "api-a")
