"""Services and network policies: delete, deny, and undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from k8s_steps import RunTrial, step

from k8s_cluster import LoopbackCluster, manifests
from kallisti.domain.models import TrialStatus

POLICIES = ("networkpolicies",)


def _policies(cluster: LoopbackCluster, ns: str = "default") -> dict[str, Any]:
    return {
        p["metadata"]["name"]: p["spec"]
        for p in cluster.objects("networkpolicies", ns, group="networking.k8s.io")
    }


async def test_delete_service_removes_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.service("web"))
    cluster.apply(manifests.service("api"))

    trial = await run_trial(step("k8s.delete_service", {**access, "name": "web"}))

    assert trial.status is TrialStatus.SUCCEEDED
    assert "Deleted service 'web' in namespace 'default'." in trial.log_text()
    assert cluster.find("services", "web", "default") is None
    assert cluster.find("services", "api", "default") is not None


async def test_delete_service_that_does_not_exist_fails_with_the_api_message(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.remove_service_endpoint", {**access, "name": "web"})
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith('services "web" not found.')


async def test_deny_all_egress_adds_the_policy_and_its_removal_undoes_it(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    chaos = await run_trial(
        step("k8s.deny_all_egress", {**access, "label_selectors": {"app": "web"}})
    )
    during = _policies(cluster)
    undo = await run_trial(step("k8s.remove_deny_all_egress", access))

    assert chaos.status is TrialStatus.SUCCEEDED
    assert during == {
        "chaostoolkit-deny-all-egress": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
        }
    }
    assert undo.status is TrialStatus.SUCCEEDED
    assert _policies(cluster) == {}


async def test_deny_all_ingress_without_labels_covers_every_pod(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(step("k8s.deny_all_ingress", access))

    assert trial.status is TrialStatus.SUCCEEDED
    assert _policies(cluster)["chaostoolkit-deny-all-ingress"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [],
    }


async def test_deny_all_egress_twice_reports_the_conflict(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.deny_all_egress", access), step("k8s.deny_all_egress", access)
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error(1).endswith(
        f"Conflict on the Kubernetes API at {cluster.url}: "
        'networkpolicies.networking.k8s.io "chaostoolkit-deny-all-egress" already '
        "exists."
    )


async def test_remove_network_policy_deletes_it_by_name(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.network_policy("keep"))
    cluster.apply(manifests.network_policy("drop"))

    trial = await run_trial(
        step("k8s.remove_network_policy", {**access, "name": "drop"})
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert list(_policies(cluster)) == ["keep"]


async def test_remove_network_policy_that_does_not_exist_fails(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.remove_network_policy", {**access, "name": "ghost"})
    )

    assert trial.status is TrialStatus.FAILED
    assert 'networkpolicies.networking.k8s.io "ghost" not found' in trial.error()


async def test_network_policy_in_a_missing_namespace_says_the_namespace_is_missing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(step("k8s.deny_all_egress", {**access, "ns": "nowhere"}))

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f"Namespace 'nowhere' does not exist on the Kubernetes API at {cluster.url}."
    )


async def test_network_policy_dry_run_creates_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step("k8s.deny_all_egress", access),
        step("k8s.allow_dns_access", access),
        dry_run=True,
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert "Dry run: would create network policy 'chaostoolkit-deny-all-egress'" in (
        trial.log_text(0)
    )
    assert "Dry run: would create network policy 'chaostoolkit-allow-dns'" in (
        trial.log_text(1)
    )
    assert cluster.writes() == []


async def test_create_network_policy_from_a_yaml_file_creates_it_as_written(
    cluster: LoopbackCluster,
    access: dict[str, Any],
    run_trial: RunTrial,
    tmp_path: Path,
) -> None:
    spec_path = tmp_path / "policy.yaml"
    spec_path.write_text(
        "apiVersion: networking.k8s.io/v1\n"
        "kind: NetworkPolicy\n"
        "metadata: {name: only-front}\n"
        "spec:\n"
        "  podSelector: {matchLabels: {app: api}}\n"
        "  policyTypes: [Ingress]\n"
        "  ingress:\n"
        "  - from: [{podSelector: {matchLabels: {app: front}}}]\n"
    )

    trial = await run_trial(
        step("k8s.create_network_policy", {**access, "spec_path": str(spec_path)})
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert _policies(cluster) == {
        "only-front": {
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "front"}}}]}],
        }
    }


async def test_remove_deny_all_ingress_and_allow_dns_removal_leave_other_policies(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.network_policy("keep"))
    chaos = await run_trial(
        step("k8s.deny_all_ingress", access),
        step("k8s.allow_dns_access", {**access, "label_selectors": {"app": "web"}}),
    )
    during = sorted(_policies(cluster))

    undo = await run_trial(
        step("k8s.remove_deny_all_ingress", access),
        step("k8s.remove_allow_dns_access", access),
    )

    assert chaos.status is TrialStatus.SUCCEEDED
    assert during == ["chaostoolkit-allow-dns", "chaostoolkit-deny-all-ingress", "keep"]
    assert undo.status is TrialStatus.SUCCEEDED, undo.record
    assert "Deleted network policy 'chaostoolkit-allow-dns'" in undo.log_text(1)
    assert list(_policies(cluster)) == ["keep"]


async def test_remove_deny_all_ingress_when_it_is_not_there_fails_and_deletes_nothing(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    cluster.apply(manifests.network_policy("keep"))

    trial = await run_trial(step("k8s.remove_deny_all_ingress", access))

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        'networkpolicies.networking.k8s.io "chaostoolkit-deny-all-ingress" not found.'
    )
    assert cluster.writes() == []
    assert list(_policies(cluster)) == ["keep"]
