"""The loopback cluster keeps the API conventions the modules rely on.

These talk to it with the real `kubernetes` client, as the modules do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes import client, watch

from k8s_cluster import ADMIN_TOKEN, LoopbackCluster, manifests


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
