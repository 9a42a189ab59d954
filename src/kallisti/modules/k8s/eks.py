"""Amazon EKS access: endpoint and CA from `DescribeCluster`, a token from STS.

The token is what `aws eks get-token` prints: a presigned STS
`GetCallerIdentity` URL, signed with the `x-k8s-aws-id: <cluster>` header,
base64url-encoded without padding, prefixed with ``k8s-aws-v1.``. The EKS API
server calls that URL to learn who the caller is.

AWS credentials come from the standard chain (environment, shared config,
instance role); the endpoints from the standard settings (``AWS_ENDPOINT_URL``
included). An optional `role` is assumed first. Every session and client is
built for this call only: nothing is set on boto3's default session.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from kallisti.domain.errors import InvalidArguments, StepFailed

__all__ = ["EksAccess", "eks_access"]

TOKEN_PREFIX = "k8s-aws-v1."
_CLUSTER_ID_HEADER = "x-k8s-aws-id"
# EKS accepts tokens signed at most 15 minutes ago; the step uses it at once.
_TOKEN_EXPIRES_SECONDS = 60
_SESSION_NAME = "kallisti-chaos"


@dataclass(frozen=True)
class EksAccess:
    """How to reach one EKS cluster's API, and as whom."""

    endpoint: str
    ca_pem: bytes
    token: str
    temporary_secrets: tuple[str, ...]  # assumed-role keys, to mask in records
    identity: str  # for error messages: never a secret


def _session(region: str | None) -> boto3.session.Session:
    session = (
        boto3.session.Session(region_name=region) if region else boto3.session.Session()
    )
    if not session.region_name:
        raise InvalidArguments(
            "platform eks needs `region` (or AWS_REGION / AWS_DEFAULT_REGION on the "
            "worker)."
        )
    return session


def _assume(
    session: boto3.session.Session, role: str, config: botocore.config.Config
) -> tuple[boto3.session.Session, tuple[str, ...]]:
    credentials = session.client("sts", config=config).assume_role(
        RoleArn=role, RoleSessionName=_SESSION_NAME
    )["Credentials"]
    assumed = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=session.region_name,
    )
    return assumed, (credentials["SecretAccessKey"], credentials["SessionToken"])


def presigned_token(
    session: boto3.session.Session, cluster_name: str, config: botocore.config.Config
) -> str:
    """The bearer token for `cluster_name`, from `session`'s credentials."""
    sts = session.client("sts", config=config)

    def keep_cluster_id(
        params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        context[_CLUSTER_ID_HEADER] = params.pop(_CLUSTER_ID_HEADER)

    def sign_cluster_id(request: Any, **_: Any) -> None:
        request.headers[_CLUSTER_ID_HEADER] = request.context[_CLUSTER_ID_HEADER]

    # Registered on this client's own event hooks, so no other client is affected.
    sts.meta.events.register(
        "provide-client-params.sts.GetCallerIdentity", keep_cluster_id
    )
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", sign_cluster_id)
    url = sts.generate_presigned_url(
        "get_caller_identity",
        Params={_CLUSTER_ID_HEADER: cluster_name},
        ExpiresIn=_TOKEN_EXPIRES_SECONDS,
        HttpMethod="GET",
    )
    encoded = base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8")
    return TOKEN_PREFIX + encoded.rstrip("=")


def eks_access(
    cluster_name: str, region: str | None, role: str | None, timeout: float
) -> EksAccess:
    """Describe the cluster and mint a token; raises `StepFailed` with AWS's reason."""
    config = botocore.config.Config(
        connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}
    )
    session = _session(region)
    who = f"role {role}" if role else "the worker's AWS credentials"
    try:
        secrets: tuple[str, ...] = ()
        if role:
            session, secrets = _assume(session, role, config)
        cluster = session.client("eks", config=config).describe_cluster(
            name=cluster_name
        )
        token = presigned_token(session, cluster_name, config)
    except botocore.exceptions.NoCredentialsError:
        raise StepFailed(
            "platform eks: no AWS credentials found on the worker (environment, shared "
            "config or instance role)."
        ) from None
    except botocore.exceptions.ClientError as err:
        error = err.response.get("Error", {})
        raise StepFailed(
            f"platform eks: AWS refused {err.operation_name} for cluster "
            f"{cluster_name!r} in {session.region_name} with {who}: "
            f"{error.get('Code', '?')}: "
            f"{error.get('Message', '')}"
        ) from err
    except botocore.exceptions.BotoCoreError as err:
        raise StepFailed(f"platform eks: AWS could not be reached: {err}") from err
    description = cluster["cluster"]
    endpoint = description.get("endpoint")
    if not endpoint:
        raise StepFailed(f"EKS cluster {cluster_name!r} has no API endpoint yet.")
    try:
        ca_pem = base64.b64decode(
            description["certificateAuthority"]["data"], validate=True
        )
    except (KeyError, TypeError, binascii.Error):
        raise StepFailed(
            f"EKS cluster {cluster_name!r} has no usable certificate authority data."
        ) from None
    return EksAccess(
        endpoint=endpoint,
        ca_pem=ca_pem,
        token=token,
        temporary_secrets=secrets,
        identity=f"an EKS token for cluster {cluster_name!r} from {who}",
    )
