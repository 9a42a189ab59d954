"""What changing actions declare they touch, and when two targets overlap."""

from __future__ import annotations

import pytest

from kallisti.domain.safety import targets_overlap
from kallisti.modules import ModuleRegistry
from kallisti.modules.cf.target_paths import targets as cf_targets


@pytest.fixture(scope="module")
def registry() -> ModuleRegistry:
    return ModuleRegistry.discover()


def test_k8s_actions_name_cluster_namespace_and_selector(
    registry: ModuleRegistry,
) -> None:
    where = {"k8s_api_host": "https://k:6443", "ns": "shop", "label_selector": "a=b"}

    found = registry.resolve("k8s.terminate_pods").targets(where)

    assert found == ["k8s/https:%2F%2Fk:6443/shop/selector:a=b"]


def test_node_and_istio_actions_have_their_own_scopes(
    registry: ModuleRegistry,
) -> None:
    assert registry.resolve("k8s.cordon_node").targets({"name": "n1"}) == [
        "k8s/in-cluster/nodes/name:n1"
    ]
    assert registry.resolve("istio.add_delay_fault").targets(
        {"virtual_service_name": "vs", "ns": "x"}
    ) == ["k8s/in-cluster/x/name:vs"]


def test_probes_and_cm_touch_nothing(registry: ModuleRegistry) -> None:
    assert registry.resolve("k8s.list_pods").targets({"label_selector": "a"}) == []
    assert registry.resolve("cm.wait").targets({"time_in_seconds": 1}) == []


def test_aws_actions_name_region_and_resources(registry: ModuleRegistry) -> None:
    found = registry.resolve("aws.ec2.stop_instances").targets(
        {"region": "eu-west-1", "instance_ids": ["i-1", "i-2"]}
    )

    assert found == ["aws/eu-west-1/i-1", "aws/eu-west-1/i-2"]


def test_cf_actions_name_api_org_space_and_app() -> None:
    where = {"cf_api_url": "https://api.cf", "org_name": "o", "app_name": "a"}

    assert cf_targets("stop_app", where) == ["cf/https:%2F%2Fapi.cf/o"]


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("k8s/c/shop", "k8s/c/shop/selector:a=b", True),
        ("k8s/c/shop/selector:a=b", "k8s/c/shop/selector:a=b", True),
        ("k8s/c/shop/selector:a=b", "k8s/c/shop/selector:c=d", False),
        ("k8s/c/shop", "k8s/c/shopping", False),
        ("aws/eu-west-1", "aws/eu-west-1/i-1", True),
    ],
)
def test_targets_overlap_when_one_is_or_lies_under_the_other(
    first: str, second: str, overlap: bool
) -> None:
    assert targets_overlap(first, second) is overlap
    assert targets_overlap(second, first) is overlap
