"""The loopback cluster keeps the API conventions the modules rely on.

These talk to it with the real `kubernetes` client, as the modules do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes import client, watch

from k8s_cluster import ADMIN_TOKEN, TERMINATING_ANNOTATION, LoopbackCluster, manifests


@pytest.fixture
def api(cluster: LoopbackCluster) -> Iterator[client.ApiClient]:
    configuration = client.Configuration(host=cluster.url)
    configuration.api_key["authorization"] = ADMIN_TOKEN
    configuration.api_key_prefix["authorization"] = "Bearer"
    with client.ApiClient(configuration) as api_client:
        yield api_client


def _status(error: client.ApiException) -> dict[str, object]:
    return dict(json.loads(error.body or "{}"))


def test_a_stale_resource_version_is_a_409_conflict(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(
        "default",
        manifests.deployment("web"),  # type: ignore[arg-type]  # dicts are accepted
    )
    stale = apps.read_namespaced_deployment("web", "default")
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 2}})

    stale.spec.replicas = 5
    with pytest.raises(client.ApiException) as raised:
        apps.replace_namespaced_deployment("web", "default", stale)

    assert raised.value.status == 409
    assert _status(raised.value)["reason"] == "Conflict"


def test_not_found_and_invalid_objects_get_status_bodies(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    with pytest.raises(client.ApiException) as missing:
        core.read_namespaced_pod("ghost", "default")
    bad = manifests.deployment("web")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(client.ApiException) as invalid:
        client.AppsV1Api(api).create_namespaced_deployment(
            "default",
            bad,  # type: ignore[arg-type]  # the client accepts dicts
        )

    assert _status(missing.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "ghost" not found',
        "reason": "NotFound",
        "details": {"name": "ghost", "kind": "pods"},
        "code": 404,
    }
    assert invalid.value.status == 422
    assert "`selector` does not match template `labels`" in str(
        _status(invalid.value)["message"]
    )


def test_a_watch_sees_the_replacement_of_a_deleted_pod(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    cluster.apply(manifests.deployment("web"))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 1)
    cluster.settle()
    [first] = cluster.pod_names("default", app="web")
    listed = core.list_namespaced_pod("default", label_selector="app=web")

    core.delete_namespaced_pod(first, "default")
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        label_selector="app=web",
        resource_version=listed.metadata.resource_version,  # type: ignore[union-attr]
        timeout_seconds=2,
    ):
        events.append((event["type"], event["object"].metadata.name))
        if event["type"] == "ADDED":
            break

    assert ("DELETED", first) in events
    assert events[-1][0] == "ADDED" and events[-1][1] != first


def test_field_selectors_filter_pods_by_node(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    cluster.apply(manifests.deployment("web", replicas=4))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 4)
    cluster.settle()

    on_node_1 = client.CoreV1Api(api).list_pod_for_all_namespaces(
        field_selector="spec.nodeName=node-1"
    )

    assert len(on_node_1.items) == 2
    assert {pod.spec.node_name for pod in on_node_1.items} == {  # type: ignore[union-attr]
        "node-1"
    }


def test_a_pod_that_ignores_sigterm_stays_terminating_for_its_grace_period(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    stubborn = manifests.pod("stubborn")
    stubborn["metadata"]["annotations"] = {TERMINATING_ANNOTATION: "true"}
    cluster.apply(stubborn)
    cluster.settle()  # scheduled onto a node
    core = client.CoreV1Api(api)

    answer = core.delete_namespaced_pod(
        "stubborn", "default", body=client.V1DeleteOptions(grace_period_seconds=1)
    )
    during = core.read_namespaced_pod("stubborn", "default")

    assert answer.metadata and answer.metadata.deletion_grace_period_seconds == 1
    assert during.metadata and during.metadata.deletion_timestamp is not None
    cluster.wait_until(
        lambda: cluster.find("pods", "stubborn", "default") is None,
        what="the kubelet killing the pod once its grace period is over",
    )


def test_an_eviction_the_disruption_budget_forbids_is_a_429_naming_the_budget(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    cluster.apply(manifests.deployment("web", replicas=2))
    cluster.apply(
        manifests.disruption_budget("web-budget", {"app": "web"}, min_available=2)
    )
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 2)
    cluster.settle()
    victim = cluster.pod_names("default", app="web")[0]
    core = client.CoreV1Api(api)

    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod_eviction(
            victim,
            "default",
            body=client.V1Eviction(
                metadata=client.V1ObjectMeta(name=victim, namespace="default")
            ),
        )

    assert refused.value.status == 429
    status = _status(refused.value)
    assert status["reason"] == "TooManyRequests"
    assert status["details"] == {
        "causes": [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget web-budget needs 2 healthy pods "
                "and has 2 currently",
            }
        ]
    }
    assert victim in cluster.pod_names("default")
    budget = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget(
        "web-budget", "default"
    )
    assert budget.spec and budget.spec.min_available == 2


def test_an_eviction_the_disruption_budget_allows_deletes_the_pod(
    cluster: LoopbackCluster, api: client.ApiClient
) -> None:
    cluster.apply(manifests.deployment("web", replicas=2))
    cluster.apply(
        manifests.disruption_budget("web-budget", {"app": "web"}, max_unavailable=1)
    )
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == 2)
    cluster.settle()
    victim = cluster.pod_names("default", app="web")[0]

    client.CoreV1Api(api).create_namespaced_pod_eviction(
        victim,
        "default",
        body=client.V1Eviction(
            metadata=client.V1ObjectMeta(name=victim, namespace="default")
        ),
    )

    assert victim not in cluster.pod_names("default")
