"""Cluster access: each way of reaching a cluster, and the errors a user meets."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_steps import RunTrial, step
from kubernetes import client as kubernetes_client

from k8s_cluster import (
    ADMIN_TOKEN,
    BASIC_PASSWORD,
    BASIC_USER,
    READER_TOKEN,
    LoopbackCluster,
    manifests,
)
from kallisti.domain.models import TrialStatus


def _web(cluster: LoopbackCluster, replicas: int = 1) -> None:
    cluster.apply(manifests.deployment("web", replicas=replicas))
    cluster.wait_until(lambda: len(cluster.pod_names("default", app="web")) == replicas)


def _terminate(**where: Any) -> dict[str, Any]:
    return step("k8s.terminate_pods", {"label_selector": "app=web", **where})


def _users(cluster: LoopbackCluster) -> set[str]:
    return {request.user for request in cluster.api.requests}


async def test_token_file_credential_reaches_the_cluster_as_its_user(
    cluster: LoopbackCluster, token_file: Path, run_trial: RunTrial
) -> None:
    _web(cluster)

    trial = await run_trial(
        _terminate(
            k8s_api_host=cluster.url,
            credentials={"type": "TOKEN_FILE", "token_path": str(token_file)},
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert _users(cluster) == {"admin"}


async def test_service_account_token_at_the_configured_path_is_the_default_credential(
    cluster: LoopbackCluster, run_trial: RunTrial
) -> None:
    _web(cluster)

    trial = await run_trial(_terminate(k8s_api_host=cluster.url))

    assert trial.status is TrialStatus.SUCCEEDED
    assert _users(cluster) == {"admin"}


async def test_in_cluster_access_uses_the_service_env_and_the_ca_beside_the_token(
    tls_cluster: LoopbackCluster,
    service_account_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_trial: RunTrial,
) -> None:
    assert tls_cluster.ca_pem is not None
    (service_account_dir / "ca.crt").write_bytes(tls_cluster.ca_pem)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(tls_cluster.port))
    _web(tls_cluster)

    trial = await run_trial(_terminate())

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert _users(tls_cluster) == {"admin"}


async def test_no_host_outside_a_cluster_says_what_to_give(
    cluster: LoopbackCluster, monkeypatch: pytest.MonkeyPatch, run_trial: RunTrial
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    trial = await run_trial(_terminate())

    assert trial.status is TrialStatus.FAILED
    assert "KUBERNETES_SERVICE_HOST is not set); give `k8s_api_host`" in trial.error()


async def test_env_var_username_password_authenticates_with_basic_auth(
    cluster: LoopbackCluster, monkeypatch: pytest.MonkeyPatch, run_trial: RunTrial
) -> None:
    monkeypatch.setenv("K8S_USERNAME", BASIC_USER)
    monkeypatch.setenv("K8S_PASSWORD", BASIC_PASSWORD)
    _web(cluster)

    trial = await run_trial(
        _terminate(
            k8s_api_host=cluster.url,
            credentials={
                "type": "ENV_VAR_USERNAME_PASSWORD",
                "username_key": "K8S_USERNAME",
                "password_key": "K8S_PASSWORD",
            },
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED
    assert _users(cluster) == {BASIC_USER}


async def test_wrong_password_is_401_naming_the_credential_type_not_its_value(
    cluster: LoopbackCluster, monkeypatch: pytest.MonkeyPatch, run_trial: RunTrial
) -> None:
    monkeypatch.setenv("K8S_USERNAME", BASIC_USER)
    monkeypatch.setenv("K8S_PASSWORD", "not-the-password")

    trial = await run_trial(
        _terminate(
            k8s_api_host=cluster.url,
            credentials={
                "type": "ENV_VAR_USERNAME_PASSWORD",
                "username_key": "K8S_USERNAME",
                "password_key": "K8S_PASSWORD",
            },
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f"The Kubernetes API at {cluster.url} rejected the credentials (401 "
        "Unauthorized); the step authenticated with credential of type "
        "ENV_VAR_USERNAME_PASSWORD (username from $K8S_USERNAME, password from "
        "$K8S_PASSWORD)."
    )
    assert "not-the-password" not in json.dumps(trial.record)


async def test_unknown_token_is_401_and_the_token_stays_out_of_the_record(
    cluster: LoopbackCluster, tmp_path: Path, run_trial: RunTrial
) -> None:
    token = tmp_path / "stale-token"
    token.write_text("stale-token-value-123")

    trial = await run_trial(
        _terminate(
            k8s_api_host=cluster.url,
            credentials={"type": "TOKEN_FILE", "token_path": str(token)},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        "(401 Unauthorized); the step authenticated with credential of type TOKEN_FILE "
        f"(token file {token})."
    )
    assert "stale-token-value-123" not in json.dumps(trial.record)


async def test_forbidden_verb_is_403_with_the_api_reason_and_the_credential_type(
    cluster: LoopbackCluster, tmp_path: Path, run_trial: RunTrial
) -> None:
    _web(cluster)
    [pod] = cluster.pod_names("default", app="web")
    token = tmp_path / "reader-token"
    token.write_text(READER_TOKEN)

    trial = await run_trial(
        _terminate(
            k8s_api_host=cluster.url,
            credentials={"type": "TOKEN_FILE", "token_path": str(token)},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f"The Kubernetes API at {cluster.url} refused the request (403 Forbidden): "
        f'pods "{pod}" is forbidden: User "reader" cannot delete resource "pods" in '
        'API group "" in the namespace "default"; the step authenticated with '
        f"credential of type TOKEN_FILE (token file {token})."
    )


async def test_unreachable_cluster_fails_clearly(
    token_file: Path, run_trial: RunTrial
) -> None:
    url = LoopbackCluster.free_url()

    trial = await run_trial(
        _terminate(
            k8s_api_host=url,
            credentials={"type": "TOKEN_FILE", "token_path": str(token_file)},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f"The Kubernetes API at {url} is unreachable: [Errno 111] Connection refused."
    )


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


async def test_every_api_call_has_a_request_timeout(
    silent_server: str, token_file: Path, run_trial: RunTrial
) -> None:
    trial = await run_trial(
        _terminate(
            k8s_api_host=silent_server,
            credentials={"type": "TOKEN_FILE", "token_path": str(token_file)},
            request_timeout=0.3,
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith(
        f"The Kubernetes API at {silent_server} did not answer within 0.3 seconds."
    )


def _kubeconfig(
    path: Path, server: str, contexts: dict[str, str], current: str
) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "loopback", "cluster": {"server": server}}],
                "users": [
                    {"name": name, "user": {"token": tok}}
                    for name, tok in contexts.items()
                ],
                "contexts": [
                    {"name": name, "context": {"cluster": "loopback", "user": name}}
                    for name in contexts
                ],
                "current-context": current,
            }
        )
    )
    return path


async def test_kubeconfig_file_and_context_reach_the_cluster(
    cluster: LoopbackCluster, tmp_path: Path, run_trial: RunTrial
) -> None:
    _web(cluster)
    config = _kubeconfig(
        tmp_path / "config",
        cluster.url,
        {"chaos": ADMIN_TOKEN, "stale": "stale-token"},
        current="stale",
    )

    current = await run_trial(_terminate(kubeconfig=str(config)))
    chosen = await run_trial(_terminate(kubeconfig=str(config), context="chaos"))

    assert current.status is TrialStatus.FAILED
    assert current.error().endswith(
        "(401 Unauthorized); the step authenticated with the user of its current "
        f"context in kubeconfig {config}."
    )
    assert chosen.status is TrialStatus.SUCCEEDED, chosen.record


async def test_missing_kubeconfig_file_fails_clearly(
    cluster: LoopbackCluster, tmp_path: Path, run_trial: RunTrial
) -> None:
    trial = await run_trial(_terminate(kubeconfig=str(tmp_path / "absent")))

    assert trial.status is TrialStatus.FAILED
    assert f"Cannot use kubeconfig {tmp_path / 'absent'}" in trial.error()


async def test_https_cluster_with_an_unknown_ca_fails_with_a_tls_hint(
    tls_cluster: LoopbackCluster, token_file: Path, run_trial: RunTrial
) -> None:
    trial = await run_trial(
        _terminate(
            k8s_api_host=tls_cluster.url,
            credentials={"type": "TOKEN_FILE", "token_path": str(token_file)},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert f"TLS connection to the Kubernetes API at {tls_cluster.url} failed" in (
        trial.error()
    )
    assert "give the cluster's CA certificate with `ca_cert`" in trial.error()


async def test_https_cluster_with_its_ca_cert_succeeds(
    tls_cluster: LoopbackCluster,
    tls_ca_file: Path,
    token_file: Path,
    run_trial: RunTrial,
) -> None:
    _web(tls_cluster)

    trial = await run_trial(
        _terminate(
            k8s_api_host=tls_cluster.url,
            ca_cert=str(tls_ca_file),
            credentials={"type": "TOKEN_FILE", "token_path": str(token_file)},
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record


async def test_unknown_platform_is_refused_before_any_call(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(_terminate(**access, platform="gke"))

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith("platform must be 'k8s' or 'eks', not 'gke'.")
    assert cluster.api.requests == []


async def test_concurrent_trials_against_two_clusters_keep_their_credentials_apart(
    cluster: LoopbackCluster, token_file: Path, tmp_path: Path, run_trial: RunTrial
) -> None:
    other = LoopbackCluster().start()
    try:
        other.users.tokens.clear()
        other.users.add_token("other-cluster-token", "other-admin")
        other_token = tmp_path / "other-token"
        other_token.write_text("other-cluster-token")
        for each, namespace in ((cluster, "alpha"), (other, "beta")):
            _web(each, replicas=3)
            each.apply(manifests.namespace(namespace))

        def steps(url: str, token: Path, namespace: str) -> list[dict[str, Any]]:
            where = {
                "k8s_api_host": url,
                "credentials": {"type": "TOKEN_FILE", "token_path": str(token)},
            }
            # A driver probe that holds only on the step's own cluster.
            own = step(
                "k8s.namespace_exists",
                {**where, "name": namespace},
                expect=[{"operator": "eq", "value": True}],
            )
            return [_terminate(**where), own] * 3

        trials = await asyncio.gather(
            run_trial(*steps(cluster.url, token_file, "alpha")),
            run_trial(*steps(other.url, other_token, "beta")),
        )

        assert [t.status for t in trials] == [TrialStatus.SUCCEEDED] * 2, trials
        assert _users(cluster) == {"admin"}
        assert _users(other) == {"other-admin"}
    finally:
        other.stop()


async def test_no_kubeconfig_or_global_configuration_is_read_or_written(
    cluster: LoopbackCluster,
    access: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_trial: RunTrial,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    decoy = _kubeconfig(
        tmp_path / "decoy", LoopbackCluster.free_url(), {"decoy": "decoy"}, "decoy"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(decoy))
    monkeypatch.setenv("KUBERNETES_HOST", LoopbackCluster.free_url())
    default_before = kubernetes_client.Configuration._default
    _web(cluster, replicas=2)
    config = _kubeconfig(
        tmp_path / "config", cluster.url, {"chaos": ADMIN_TOKEN}, "chaos"
    )

    trial = await run_trial(
        _terminate(**access),
        _terminate(kubeconfig=str(config)),
        step("k8s.count_pods", {**access, "label_selector": "app=web"}),
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert not (home / ".kube").exists()
    assert kubernetes_client.Configuration._default is default_before


async def test_step_credentials_replace_the_kubeconfig_user(
    cluster: LoopbackCluster, token_file: Path, tmp_path: Path, run_trial: RunTrial
) -> None:
    _web(cluster)
    config = _kubeconfig(tmp_path / "config", cluster.url, {"stale": "stale"}, "stale")

    trial = await run_trial(
        _terminate(
            kubeconfig=str(config),
            credentials={"type": "TOKEN_FILE", "token_path": str(token_file)},
        )
    )

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert _users(cluster) == {"admin"}


async def test_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(
    cluster: LoopbackCluster,
    access: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    run_trial: RunTrial,
) -> None:
    _web(cluster)
    for name in ("http_proxy", "https_proxy", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", LoopbackCluster.free_url())

    proxied = await run_trial(_terminate(**access))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = await run_trial(_terminate(**access))

    assert proxied.status is TrialStatus.FAILED
    assert proxied.error().endswith(
        f"The Kubernetes API at {cluster.url} is unreachable through the proxy set by "
        "HTTP(S)_PROXY: 'Unable to connect to proxy'; add the host to NO_PROXY if it "
        "needs no proxy."
    )
    assert direct.status is TrialStatus.SUCCEEDED, direct.record


async def test_access_arguments_of_the_wrong_type_are_refused(
    cluster: LoopbackCluster, access: dict[str, Any], run_trial: RunTrial
) -> None:
    trial = await run_trial(_terminate(**access, verify_ssl="false"))

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith("`verify_ssl` must be true or false, not 'false'.")
