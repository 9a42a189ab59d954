"""The seed's walk-through, for real: terminate a hello-world pod, probe its health.

The experiment is the one on Kallisti's "How to use" page, with the API
server's address added (the page's Kallisti runs inside the cluster). The
health endpoint is a real HTTP server on 127.0.0.1 that answers 200 while the
hello-world deployment has a Ready pod, as a Service in front of it would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from k8s_steps import RunTrial

from k8s_cluster import BASIC_PASSWORD, BASIC_USER, LoopbackCluster, manifests
from kallisti.domain.models import TrialStatus
from loopback_http import LoopbackServer, QuietHandler
from support import wait_for_trial

NS = "my-namespace"


def _ready_pods(cluster: LoopbackCluster) -> int:
    deployment = cluster.find("deployments", "hello-world", NS, group="apps") or {}
    return int(deployment.get("status", {}).get("readyReplicas", 0))


@pytest.fixture
def hello_world(cluster: LoopbackCluster) -> Iterator[str]:
    """hello-world (3 pods) in my-namespace; yields its health endpoint URL."""
    cluster.apply(manifests.namespace(NS))
    cluster.apply(manifests.deployment("hello-world", NS, replicas=3))
    cluster.wait_until(lambda: _ready_pods(cluster) == 3, what="hello-world ready")

    class Health(QuietHandler):
        def do_GET(self) -> None:
            healthy = self.path == "/health" and _ready_pods(cluster) > 0
            body = b'{"status": "UP"}' if healthy else b'{"status": "DOWN"}'
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = LoopbackServer(Health).start()
    yield f"{server.url}/health"
    server.stop()


@pytest.fixture
def k8s_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed page's `export K8S_USERNAME=... K8S_PASSWORD=...` on the worker."""
    monkeypatch.setenv("K8S_USERNAME", BASIC_USER)
    monkeypatch.setenv("K8S_PASSWORD", BASIC_PASSWORD)


def _seed_steps(cluster: LoopbackCluster, health_url: str) -> list[dict[str, Any]]:
    return [
        {
            "step": "Terminate pod",
            "do": "k8s.terminate_pods",
            "where": {
                "label_selector": "app=hello-world",
                "qty": 1,
                "ns": NS,
                "k8s_api_host": cluster.url,
                "credentials": {
                    "type": "ENV_VAR_USERNAME_PASSWORD",
                    "password_key": "K8S_PASSWORD",
                    "username_key": "K8S_USERNAME",
                },
            },
        },
        {
            "step": "HTTP health check",
            "do": "cm.http_probe",
            "where": {"url": health_url},
        },
    ]


def _terminated_pod(logs: list[str]) -> str:
    for line in logs:
        match = re.search(r"Terminated 1 pod\(s\) in namespace .*: (\S+)\.$", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no terminated pod in {logs}")


async def test_seed_walkthrough_terminates_a_pod_and_the_health_check_passes(
    cluster: LoopbackCluster, hello_world: str, k8s_user: None, run_trial: RunTrial
) -> None:
    before = set(cluster.pod_names(NS, app="hello-world"))

    trial = await run_trial(*_seed_steps(cluster, hello_world))

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    terminated = _terminated_pod(trial.logs(0))
    assert terminated in before
    assert trial.logs(1)[-1].endswith("Completed.")
    assert trial.record["result"][0]["logs"][-1].endswith("Trial Completed.")
    cluster.wait_until(
        lambda: (
            len(cluster.pod_names(NS, app="hello-world")) == 3
            and terminated not in cluster.pod_names(NS, app="hello-world")
        ),
        what="the deployment has its pod back",
    )
    cluster.wait_until(lambda: _ready_pods(cluster) == 3, what="three Ready pods again")


async def test_seed_walkthrough_dry_run_names_the_pod_and_changes_nothing(
    cluster: LoopbackCluster, hello_world: str, k8s_user: None, run_trial: RunTrial
) -> None:
    first = sorted(cluster.pod_names(NS, app="hello-world"))[0]

    trial = await run_trial(*_seed_steps(cluster, hello_world), dry_run=True)

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert (
        f"Dry run: would terminate 1 pod(s) in namespace '{NS}' (each pod's own grace "
        f"period): {first}. Nothing was changed." in trial.log_text(0)
    )
    assert cluster.writes() == []


def test_seed_walkthrough_over_the_rest_api(
    api: httpx.Client, cluster: LoopbackCluster, hello_world: str, k8s_user: None
) -> None:
    experiment = api.post(
        "/api/v1/experiment",
        json={
            "name": "Terminate a hello world pod",
            "description": "Terminate a pod and validate the status of the "
            "application's health endpoint.",
            "steps": _seed_steps(cluster, hello_world),
        },
    )
    assert experiment.status_code == 201, experiment.text
    created = api.post("/api/v1/trial", json={"experiment": experiment.json()["id"]})
    assert created.status_code == 201, created.text

    trial = wait_for_trial(api, created.json()["id"], timeout=30)

    assert trial["status"] == "Succeeded", trial
    steps = trial["trial_record"]["steps"]
    assert [s["step_name"] for s in steps] == ["Terminate pods", "Http probe"]
    terminated = _terminated_pod(steps[0]["logs"])
    cluster.wait_until(
        lambda: (
            len(cluster.pod_names(NS, app="hello-world")) == 3
            and terminated not in cluster.pod_names(NS, app="hello-world")
        ),
        what="the deployment has its pod back",
    )
