"""`platform: eks`: endpoint and CA from EKS, a token presigned for STS — against moto.

moto runs in server mode on 127.0.0.1 (the `aws` fixture of tests/conftest.py)
and the AWS clients reach it through ``AWS_ENDPOINT_URL``, as in production
they would reach AWS. The EKS cluster
moto describes is pointed at the HTTPS loopback cluster, whose token reviewer
asks moto's STS who signed the token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from k8s_steps import RunTrial, step
from moto.core import DEFAULT_ACCOUNT_ID
from moto.eks.models import eks_backends

from k8s_cluster import LoopbackCluster, manifests
from k8s_cluster.eks import StsTokenReviewer
from kallisti.domain.models import TrialStatus

REGION = "eu-west-1"
CLUSTER = "chaos-cluster"
WORKER_ARN = f"arn:aws:sts::{DEFAULT_ACCOUNT_ID}:user/moto"
CHAOS_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/chaos"


@pytest.fixture
def eks_cluster(aws: str, tls_cluster: LoopbackCluster) -> Iterator[StsTokenReviewer]:
    """EKS cluster `CLUSTER` in moto, served by the HTTPS loopback cluster."""
    eks = boto3.session.Session(region_name=REGION).client("eks")
    eks.create_cluster(
        name=CLUSTER,
        roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/eks-service",
        resourcesVpcConfig={"subnetIds": []},
    )
    # moto invents an endpoint and CA; point them at the loopback cluster.
    described = eks_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[CLUSTER]
    assert tls_cluster.ca_pem is not None
    described.endpoint = tls_cluster.url
    described.certificate_authority = {
        "data": base64.b64encode(tls_cluster.ca_pem).decode()
    }
    reviewer = StsTokenReviewer(CLUSTER, aws)
    tls_cluster.users.add_reviewer(reviewer)
    tls_cluster.apply(manifests.deployment("web", replicas=2))
    tls_cluster.wait_until(
        lambda: len(tls_cluster.pod_names("default", app="web")) == 2
    )
    yield reviewer
    eks.delete_cluster(name=CLUSTER)


def _terminate(**where: Any) -> dict[str, Any]:
    return step(
        "k8s.terminate_pods",
        {
            "platform": "eks",
            "cluster_name": CLUSTER,
            "label_selector": "app=web",
            **where,
        },
    )


async def test_eks_platform_reaches_the_cluster_with_a_presigned_sts_token(
    tls_cluster: LoopbackCluster, eks_cluster: StsTokenReviewer, run_trial: RunTrial
) -> None:
    tls_cluster.users.grant(WORKER_ARN)

    trial = await run_trial(_terminate(region=REGION))

    assert trial.status is TrialStatus.SUCCEEDED, trial.record
    assert {r.user for r in tls_cluster.api.requests} == {WORKER_ARN}
    token = eks_cluster.tokens_seen[0]
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    assert token not in json.dumps(trial.record)


async def test_eks_role_is_assumed_and_the_cluster_sees_that_role(
    tls_cluster: LoopbackCluster, eks_cluster: StsTokenReviewer, run_trial: RunTrial
) -> None:
    tls_cluster.users.grant(CHAOS_ROLE)  # the worker's own identity has no grant

    as_worker = await run_trial(_terminate(region=REGION))
    as_role = await run_trial(_terminate(region=REGION, role=CHAOS_ROLE))

    assert as_worker.status is TrialStatus.FAILED
    assert "(403 Forbidden)" in as_worker.error()
    assert (
        f"the step authenticated with an EKS token for cluster '{CLUSTER}' from the "
        "worker's AWS credentials." in as_worker.error()
    )
    assert as_role.status is TrialStatus.SUCCEEDED, as_role.record
    assert CHAOS_ROLE in {r.user for r in tls_cluster.api.requests}


async def test_eks_region_comes_from_the_aws_environment_when_not_given(
    tls_cluster: LoopbackCluster,
    eks_cluster: StsTokenReviewer,
    monkeypatch: pytest.MonkeyPatch,
    run_trial: RunTrial,
) -> None:
    tls_cluster.users.grant(WORKER_ARN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    trial = await run_trial(_terminate())

    assert trial.status is TrialStatus.SUCCEEDED, trial.record


async def test_eks_unknown_cluster_fails_with_the_aws_reason(
    eks_cluster: StsTokenReviewer, run_trial: RunTrial
) -> None:
    trial = await run_trial(_terminate(region=REGION, cluster_name="nope"))

    assert trial.status is TrialStatus.FAILED
    assert (
        "platform eks: AWS refused DescribeCluster for cluster 'nope' in "
        f"{REGION} with the worker's AWS credentials: ResourceNotFoundException"
        in trial.error()
    )


async def test_eks_without_cluster_name_is_refused(
    aws: str, run_trial: RunTrial
) -> None:
    trial = await run_trial(
        step(
            "k8s.terminate_pods",
            {"platform": "eks", "region": REGION, "label_selector": "a"},
        )
    )

    assert trial.status is TrialStatus.FAILED
    assert trial.error().endswith("platform eks needs `cluster_name`.")
