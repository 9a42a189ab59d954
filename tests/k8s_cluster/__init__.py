"""A loopback Kubernetes API server for the test suite (see ../../../shared/DESIGN.md).

No real API server can be installed on the test machines, so this package
serves the parts of the Kubernetes API that Kallisti's `k8s` and `istio` modules
use — core/v1, apps/v1, networking.k8s.io/v1, networking.istio.io — over real
HTTP on 127.0.0.1, for the real `kubernetes` client and the real Chaos Toolkit
drivers. Its behaviour follows the API conventions: label and field selectors,
`resourceVersion` with 409 on stale writes, `Status` bodies for 401/403/404/409/
422, watches, the scale and eviction subresources (with PodDisruptionBudgets
refusing an eviction with 429), pods that stay terminating for their grace
period, and a reconcile loop so that a deployment's deleted pod comes back
under a new name.

Modules: `resources` (what is served), `store` (versioned objects), `kinds`
(defaults and validation), `selectors`, `patches`, `auth` (users and verbs),
`api` (routing), `controllers` (the reconcile loop), `server` (HTTP and the
`LoopbackCluster` test helper), `manifests` (object builders), `eks` (an EKS
token reviewer that asks STS, here moto), `tls` (a self-signed certificate).
"""

from .api import LOG_ANNOTATION, TERMINATING_ANNOTATION, RecordedRequest
from .auth import (
    ADMIN_TOKEN,
    ALL_VERBS,
    BASIC_PASSWORD,
    BASIC_USER,
    READ_VERBS,
    READER_TOKEN,
)
from .controllers import PHASE_ANNOTATION
from .server import LoopbackCluster

__all__ = [
    "ADMIN_TOKEN",
    "ALL_VERBS",
    "BASIC_PASSWORD",
    "BASIC_USER",
    "LOG_ANNOTATION",
    "PHASE_ANNOTATION",
    "READER_TOKEN",
    "READ_VERBS",
    "TERMINATING_ANNOTATION",
    "LoopbackCluster",
    "RecordedRequest",
]
