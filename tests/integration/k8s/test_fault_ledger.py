"""The fault ledger on the loopback cluster, through the API and its worker:
a fault the post steps leave fails the trial and is reverted on request; one
they undo leaves the trial alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from k8s_steps import step

from k8s_cluster import LoopbackCluster, manifests
from kallisti.domain.record import result_lines
from kallisti.store import Store
from module_trials import run_steps
from support import ServiceThread

KALLISTI = [sys.executable, "-m", "kallisti"]


def _access(cluster: LoopbackCluster, token_file: Path) -> dict[str, Any]:
    return {
        "k8s_api_host": cluster.url,
        "credentials": {"type": "TOKEN_FILE", "token_path": str(token_file)},
    }


def _policies(cluster: LoopbackCluster) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in cluster.objects(
            "networkpolicies", "default", group="networking.k8s.io"
        )
    ]


def _route_faults(cluster: LoopbackCluster) -> list[Any]:
    found = cluster.find(
        "virtualservices", "reviews", "default", group="networking.istio.io"
    )
    assert found is not None
    return [route.get("fault") for route in found["spec"]["http"]]


def test_fault_left_by_the_post_steps_fails_the_trial_and_revert_undoes_it(
    api: httpx.Client, store: Store, cluster: LoopbackCluster, token_file: Path
) -> None:
    access = _access(cluster, token_file)
    cluster.apply(manifests.deployment("web", replicas=3))
    cluster.apply(manifests.virtual_service("reviews", hosts=("reviews", "ratings")))
    routes = [{"destination": {"host": "reviews", "subset": "v1"}}]
    istio = {**access, "virtual_service_name": "reviews", "routes": routes}

    trial = run_steps(
        api,
        step("k8s.deny_all_ingress", {**access, "label_selectors": {"app": "web"}}),
        step("k8s.scale_deployment", {**access, "name": "web", "replicas": 0}),
        step("istio.add_delay_fault", {**istio, "fixed_delay": "1s"}),
        # Undoes the scale only: the policy is left behind.
        post_steps=(
            step("k8s.scale_deployment", {**access, "name": "web", "replicas": 3}),
        ),
    )

    assert trial["status"] == "Failed", trial["trial_record"]
    residual, istio_fault = trial["residual_faults"]
    assert istio_fault["what"].startswith(
        "virtual service 'reviews' in namespace 'default': add delay fault"
    )
    assert _route_faults(cluster)[0] is not None
    assert residual["what"] == (
        "network policy 'chaostoolkit-deny-all-ingress' created in namespace 'default'"
    )
    assert residual["where"].endswith(
        "/default/networkpolicy:chaostoolkit-deny-all-ingress"
    )
    assert residual["since"] and "delete network policy" in residual["undo"]
    results = "\n".join(result_lines(trial["trial_record"]))
    assert "still in place after the post steps" in results
    assert "kallisti revert" in results
    assert _policies(cluster) == ["chaostoolkit-deny-all-ingress"]
    states = sorted(e.state.value for e in store.ledger.entries(trial["id"]))
    assert states == ["cleared", "residual", "residual"]
    # No credential in the ledger: the token file's path is the step's, not here.
    assert all("credentials" not in e.undo for e in store.ledger.entries(trial["id"]))

    reverted = api.post(f"/api/v1/trial/{trial['id']}/revert")

    assert reverted.status_code == 200, reverted.text
    answer = reverted.json()
    reverted_faults = [r["what"] for r in answer["reverted"]]
    assert reverted_faults == [residual["what"], istio_fault["what"]]
    assert answer["failed"] == [] and answer["residual_faults"] == []
    assert _policies(cluster) == []
    assert _route_faults(cluster) == [None, None]
    # The trial stays as it ended; the ledger says the fault is reverted.
    after = api.get(f"/api/v1/trial/{trial['id']}").json()
    assert after["residual_faults"] == trial["residual_faults"]
    states = sorted(e.state.value for e in store.ledger.entries(trial["id"]))
    assert states == ["cleared", "reverted", "reverted"]
    again = api.post(f"/api/v1/trial/{trial['id']}/revert").json()
    assert again["reverted"] == again["failed"] == again["already_clear"] == []
    audit = api.get("/api/v1/audit", params={"target_id": trial["id"]}).json()
    assert "trial.revert" in {entry["action"] for entry in audit}


def test_fault_undone_by_the_post_steps_leaves_the_trial_succeeded(
    api: httpx.Client, store: Store, cluster: LoopbackCluster, token_file: Path
) -> None:
    access = _access(cluster, token_file)

    trial = run_steps(
        api,
        step("k8s.cordon_node", {**access, "name": "node-1"}),
        post_steps=(step("k8s.uncordon_node", {**access, "name": "node-1"}),),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert trial["residual_faults"] is None
    assert [e.state.value for e in store.ledger.entries(trial["id"])] == ["cleared"]
    # A dry run changes nothing, so it records nothing.
    dry = run_steps(
        api, step("k8s.cordon_node", {**access, "name": "node-1"}), dry_run=True
    )
    assert dry["status"] == "Succeeded"
    assert store.ledger.entries(dry["id"]) == []
    assert not cluster.find("nodes", "node-1")["spec"].get("unschedulable")  # type: ignore[index]


def test_kallisti_revert_undoes_a_cordon_left_in_place(
    api: httpx.Client,
    service: ServiceThread,
    store: Store,
    cluster: LoopbackCluster,
    token_file: Path,
) -> None:
    access = _access(cluster, token_file)
    trial = run_steps(api, step("k8s.cordon_node", {**access, "name": "node-2"}))
    assert trial["status"] == "Failed"
    assert cluster.find("nodes", "node-2")["spec"]["unschedulable"] is True  # type: ignore[index]

    env = {
        **os.environ,
        "KALLISTI_DATABASE_URL": service.service.settings.database_url,
    }
    result = subprocess.run(
        [*KALLISTI, "revert", trial["id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert '"outcome": "reverted"' in result.stdout
    assert not cluster.find("nodes", "node-2")["spec"].get("unschedulable")  # type: ignore[index]
    (entry,) = store.ledger.entries(trial["id"])
    assert entry.state.value == "reverted"
    unknown = subprocess.run(
        [*KALLISTI, "revert", "00000000-0000-0000-0000-000000000000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 1 and "not found" in unknown.stderr
