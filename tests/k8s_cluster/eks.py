"""An EKS token reviewer: who is the caller, according to STS (here, moto)?

EKS's API server authenticates a ``k8s-aws-v1.<base64url presigned URL>`` bearer
token by calling that URL: a `GetCallerIdentity` request to STS, signed over
the ``x-k8s-aws-id`` header, which it sends with the cluster's name. STS
answers with the caller's ARN; an assumed role's ARN is mapped back to the
role (as aws-iam-authenticator does) and becomes the Kubernetes user name.
"""

from __future__ import annotations

import base64
import re
import threading
import urllib.request
from urllib.parse import parse_qsl, urlsplit

__all__ = ["StsTokenReviewer"]

_PREFIX = "k8s-aws-v1."
_ASSUMED_ROLE = re.compile(r"^arn:aws:sts::(\d+):assumed-role/([^/]+)/.+$")


class StsTokenReviewer:
    """Checks EKS tokens for `cluster_name` against the STS at `sts_url`."""

    def __init__(self, cluster_name: str, sts_url: str) -> None:
        self.cluster_name = cluster_name
        self._sts = urlsplit(sts_url)
        self._lock = threading.Lock()
        self.tokens_seen: list[str] = []

    def __call__(self, token: str) -> str | None:
        if not token.startswith(_PREFIX):
            return None
        with self._lock:
            self.tokens_seen.append(token)
        encoded = token[len(_PREFIX) :]
        try:
            url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except ValueError:
            return None
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        signed = query.get("X-Amz-SignedHeaders", "").split(";")
        if (
            parts.netloc != self._sts.netloc
            or query.get("Action") != "GetCallerIdentity"
            or "x-k8s-aws-id" not in signed
        ):
            return None
        headers = {"x-k8s-aws-id": self.cluster_name}
        # moto's server picks the service from an Authorization header, not from
        # a presigned query; the same SigV4 fields, moved to the header, route it.
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={query.get('X-Amz-Credential', '')}, "
            f"SignedHeaders={query.get('X-Amz-SignedHeaders', '')}, "
            f"Signature={query.get('X-Amz-Signature', '')}"
        )
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), timeout=10
            ) as answer:
                body = answer.read().decode()
        except OSError:
            return None
        match = re.search(r"<Arn>([^<]+)</Arn>", body)
        if match is None:
            return None
        arn = match.group(1)
        role = _ASSUMED_ROLE.match(arn)
        return f"arn:aws:iam::{role.group(1)}:role/{role.group(2)}" if role else arn
