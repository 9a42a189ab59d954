"""Pure rules of the k8s module: default credential, EKS token, error wording."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.config
from kubernetes.client.exceptions import ApiException

from kallisti.modules.k8s.access import default_credentials
from kallisti.modules.k8s.eks import TOKEN_PREFIX, presigned_token
from kallisti.modules.k8s.errors import api_failure


def test_default_credential_is_the_service_account_token_unless_kubeconfig_or_eks() -> (
    None
):
    assert default_credentials({"k8s_api_host": "https://k"}) == {
        "type": "K8S_SVC_ACC_TOKEN_FILE"
    }
    assert default_credentials({"kubeconfig": "/etc/kallisti/kubeconfig"}) is None
    assert default_credentials({"platform": "EKS", "cluster_name": "c"}) is None


def test_eks_token_is_an_unpadded_presigned_get_caller_identity_for_the_cluster() -> (
    None
):
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        region_name="us-west-2",
    )

    token = presigned_token(
        session, "prod-cluster", botocore.config.Config(retries={"max_attempts": 1})
    )

    assert token.startswith(TOKEN_PREFIX) and not token.endswith("=")
    encoded = token[len(TOKEN_PREFIX) :]
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    query = parse_qs(urlsplit(url).query)
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert "/us-west-2/sts/aws4_request" in query["X-Amz-Credential"][0]


def _api_error(status: int, message: str) -> ApiException:
    error = ApiException(status=status, reason="Reason")
    error.body = json.dumps({"kind": "Status", "message": message, "code": status})
    return error


def test_401_and_403_name_the_credential_description_and_the_api_message() -> None:
    unauthorized = api_failure(
        _api_error(401, "Unauthorized"),
        host="https://k",
        identity="credential X",
        timeout=1,
    )
    forbidden = api_failure(
        _api_error(403, 'pods "p" is forbidden'),
        host="https://k",
        identity="credential X",
        timeout=1,
    )

    assert str(unauthorized) == (
        "The Kubernetes API at https://k rejected the credentials (401 Unauthorized); "
        "the step authenticated with credential X."
    )
    assert str(forbidden) == (
        'The Kubernetes API at https://k refused the request (403 Forbidden): pods "p" '
        "is forbidden; the step authenticated with credential X."
    )


def test_errors_that_are_not_about_the_api_are_left_alone() -> None:
    assert api_failure(KeyError("x"), host="h", identity="i", timeout=1) is None
