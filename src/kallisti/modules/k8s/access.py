"""Cluster access for `k8s` and `istio` steps: one API client per step, never global.

Every action takes Kallisti's access arguments (`ACCESS_PARAMETERS`):

- ``k8s_api_host`` with ``credentials`` (TOKEN_FILE, K8S_SVC_ACC_TOKEN_FILE — the
  default — or ENV_VAR_USERNAME_PASSWORD for basic authentication);
- no ``k8s_api_host``: the in-cluster API (``KUBERNETES_SERVICE_HOST`` and
  ``_PORT``, with the ``ca.crt`` beside the service-account token);
- ``kubeconfig`` (a file on the worker) and optional ``context``;
- ``platform: eks`` with ``cluster_name``, ``region`` and optional ``role``.

``verify_ssl`` (default true) and ``ca_cert`` (a CA file) govern TLS;
``request_timeout`` bounds each API call (default 30 seconds).

A kubeconfig is read as `kubectl` reads it, so its `exec` credential plugins
run on the worker: point steps only at kubeconfig files the operators placed.

The client configuration is built for the step and dropped after it: nothing is
read from or written to ``~/.kube``, ``KUBECONFIG`` or the `kubernetes` package's
default configuration, so concurrent trials against different clusters cannot
see each other's credentials.
"""

from __future__ import annotations

import base64
import inspect
import os
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from kubernetes import client as k8s
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import load_kube_config

from kallisti.credentials import (
    Credential,
    EnvVarUsernamePasswordCredential,
    K8sServiceAccountTokenFileCredential,
    TokenCredential,
)
from kallisti.domain.errors import InvalidArguments, StepError, StepFailed
from kallisti.modules.context import StepContext
from kallisti.modules.k8s.eks import eks_access
from kallisti.modules.k8s.errors import api_failure

__all__ = [
    "ACCESS_PARAMETERS",
    "DEFAULT_REQUEST_TIMEOUT_SECONDS",
    "Cluster",
    "ClusterAccess",
    "cluster_action",
    "connect",
    "default_credentials",
    "make_action",
]

DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
PLATFORMS = ("k8s", "eks")

_KW = inspect.Parameter.KEYWORD_ONLY
ACCESS_PARAMETERS: tuple[inspect.Parameter, ...] = (
    inspect.Parameter("k8s_api_host", _KW, default=None, annotation="str | None"),
    inspect.Parameter("credentials", _KW, default=None, annotation="Credential | None"),
    inspect.Parameter("platform", _KW, default="k8s", annotation="str"),
    inspect.Parameter("cluster_name", _KW, default=None, annotation="str | None"),
    inspect.Parameter("region", _KW, default=None, annotation="str | None"),
    inspect.Parameter("role", _KW, default=None, annotation="str | None"),
    inspect.Parameter("kubeconfig", _KW, default=None, annotation="str | None"),
    inspect.Parameter("context", _KW, default=None, annotation="str | None"),
    inspect.Parameter("verify_ssl", _KW, default=True, annotation="bool"),
    inspect.Parameter("ca_cert", _KW, default=None, annotation="str | None"),
    inspect.Parameter(
        "request_timeout",
        _KW,
        default=DEFAULT_REQUEST_TIMEOUT_SECONDS,
        annotation="float",
    ),
)
_ACCESS_NAMES = frozenset(p.name for p in ACCESS_PARAMETERS)
_STEP_CONTEXT = inspect.Parameter("step_context", _KW, annotation="StepContext")
_ACCESS_DOC = (
    "\n\nCluster access: k8s_api_host with credentials (the in-cluster service "
    "account by default), kubeconfig/context, or platform eks with cluster_name, "
    "region, role; verify_ssl, ca_cert, request_timeout (seconds per API call)."
)


def default_credentials(where: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The in-cluster service-account token, unless a kubeconfig or EKS gives access."""
    if where.get("kubeconfig") or str(where.get("platform", "k8s")).lower() == "eks":
        return None
    return {"type": "K8S_SVC_ACC_TOKEN_FILE"}


@dataclass(frozen=True)
class ClusterAccess:
    """The access arguments of one step."""

    k8s_api_host: str | None = None
    credentials: Credential | None = None
    platform: str = "k8s"
    cluster_name: str | None = None
    region: str | None = None
    role: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    verify_ssl: bool = True
    ca_cert: str | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS


class _StepApiClient(k8s.ApiClient):
    """An `ApiClient` whose calls time out unless the caller chose otherwise."""

    def __init__(
        self,
        configuration: Any,
        request_timeout: float,
        remaining: Callable[[float], float] = lambda seconds: seconds,
    ) -> None:
        super().__init__(configuration)
        self._default_timeout = request_timeout
        # No call outlives its step: each is bounded by the time the step has left.
        self._remaining = remaining

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        timeout = (
            self._default_timeout if _request_timeout is None else _request_timeout
        )
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            timeout = self._remaining(float(timeout))
        elif isinstance(timeout, tuple) and len(timeout) == 2:
            timeout = tuple(self._remaining(float(part)) for part in timeout)
        return super().call_api(method, url, header_params, body, post_params, timeout)


class Cluster:
    """One step's connection to one cluster: the API client, and who it is."""

    def __init__(
        self, api_client: Any, host: str, identity: str, timeout: float
    ) -> None:
        self.api_client = api_client
        self.host = host
        self.identity = identity
        self.timeout = timeout
        # Typed as Any: the generated models make every field optional, and the
        # actions read fields the API always sets (metadata.name, spec, status).
        self.core: Any = k8s.CoreV1Api(api_client)
        self.apps: Any = k8s.AppsV1Api(api_client)
        self.networking: Any = k8s.NetworkingV1Api(api_client)
        self.custom: Any = k8s.CustomObjectsApi(api_client)

    def jsonable(self, value: Any) -> Any:
        """`value` with client models turned into plain JSON data (camelCase keys)."""
        return self.api_client.sanitize_for_serialization(value)

    def namespace_exists(self, namespace: str) -> bool:
        """Tell whether `namespace` exists; raises like any API call."""
        try:
            self.core.read_namespace(namespace)
        except k8s.ApiException as err:
            if err.status == 404:
                return False
            raise
        return True

    def require_namespace(self, namespace: str) -> None:
        """Raise `StepFailed` when `namespace` does not exist."""
        if not self.namespace_exists(namespace):
            raise StepFailed(
                f"Namespace {namespace!r} does not exist on the Kubernetes API at "
                f"{self.host}."
            )

    def failure(
        self, err: BaseException, namespace: str | None = None
    ) -> StepFailed | None:
        """The user-facing failure for `err` (see `errors.api_failure`), or None.

        A 404 in a namespace that does not exist says so rather than naming the
        object that was not found there.
        """
        failure = api_failure(
            err, host=self.host, identity=self.identity, timeout=self.timeout
        )
        if (
            failure is not None
            and namespace
            and isinstance(err, k8s.ApiException)
            and err.status == 404
        ):
            try:
                self.require_namespace(namespace)
            except StepFailed as missing:
                return missing
            except Exception:  # the original 404 is the better message then
                return failure
        return failure


def _auth(configuration: Any, credential: Credential) -> None:
    # A step credential replaces whatever a kubeconfig user would have sent.
    configuration.api_key.clear()
    configuration.api_key_prefix.clear()
    configuration.refresh_api_key_hook = None
    configuration.cert_file = configuration.key_file = None
    if isinstance(credential, EnvVarUsernamePasswordCredential):
        pair = f"{credential.username}:{credential.password}".encode()
        configuration.api_key["authorization"] = base64.b64encode(pair).decode()
        configuration.api_key_prefix["authorization"] = "Basic"
    elif isinstance(credential, TokenCredential) or isinstance(
        getattr(credential, "token", None), str
    ):
        configuration.api_key["authorization"] = credential.token  # type: ignore[attr-defined]
        configuration.api_key_prefix["authorization"] = "Bearer"
    else:
        raise InvalidArguments(
            f"{credential.describe()} cannot authenticate to Kubernetes; use "
            "TOKEN_FILE, K8S_SVC_ACC_TOKEN_FILE or ENV_VAR_USERNAME_PASSWORD."
        )


def _in_cluster_host() -> str:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise InvalidArguments(
            "No `k8s_api_host` given and the worker does not run inside a Kubernetes "
            "cluster (KUBERNETES_SERVICE_HOST is not set); give `k8s_api_host`, a "
            "`kubeconfig`, or `platform: eks`."
        )
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def _configure(access: ClusterAccess, step_context: StepContext) -> tuple[Any, str]:
    """The client configuration for `access`, and how it authenticates."""
    platform = str(access.platform).lower()
    if platform not in PLATFORMS:
        raise InvalidArguments(
            f"platform must be 'k8s' or 'eks', not {access.platform!r}."
        )
    configuration = k8s.Configuration()
    identity = "no credentials (anonymous)"
    if platform == "eks":
        if not access.cluster_name:
            raise InvalidArguments("platform eks needs `cluster_name`.")
        eks = eks_access(
            access.cluster_name, access.region, access.role, access.request_timeout
        )
        step_context.add_secret(eks.token)
        for secret in eks.temporary_secrets:
            step_context.add_secret(secret)
        configuration.host = eks.endpoint
        configuration.ca_cert_data = eks.ca_pem.decode("ascii", "replace")
        configuration.api_key["authorization"] = eks.token
        configuration.api_key_prefix["authorization"] = "Bearer"
        identity = eks.identity
    elif access.kubeconfig:
        try:
            load_kube_config(  # type: ignore[no-untyped-call]
                config_file=access.kubeconfig,
                context=access.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except (ConfigException, OSError, ValueError) as err:
            raise StepFailed(
                f"Cannot use kubeconfig {access.kubeconfig}: {err}"
            ) from err
        context = (
            f"context {access.context!r}" if access.context else "its current context"
        )
        identity = f"the user of {context} in kubeconfig {access.kubeconfig}"
    if access.k8s_api_host:
        configuration.host = access.k8s_api_host.rstrip("/")
    elif platform == "k8s" and not access.kubeconfig:
        configuration.host = _in_cluster_host()
    if access.credentials is not None and platform == "k8s":
        _auth(configuration, access.credentials)
        identity = access.credentials.describe()
    if not access.verify_ssl:
        configuration.verify_ssl = False
    if access.ca_cert:
        configuration.ssl_ca_cert = access.ca_cert
    elif isinstance(access.credentials, K8sServiceAccountTokenFileCredential):
        in_cluster_ca = Path(access.credentials.token_path).parent / "ca.crt"
        if in_cluster_ca.is_file() and not configuration.ca_cert_data:
            configuration.ssl_ca_cert = str(in_cluster_ca)
    _use_proxy_from_environment(configuration)
    # One connection retry; reads are never retried (a chaos call must not repeat).
    configuration.retries = urllib3.Retry(
        total=1, connect=1, read=0, redirect=0, status=0
    )
    return configuration, identity


def _use_proxy_from_environment(configuration: Any) -> None:
    """Honour HTTP(S)_PROXY and NO_PROXY, as chaostoolkit-kubernetes did (a
    kubeconfig's own `proxy-url` wins)."""
    if configuration.proxy:
        return
    proxies = urllib.request.getproxies_environment()
    target = urlsplit(configuration.host)
    proxy = proxies.get(target.scheme)
    if proxy and not urllib.request.proxy_bypass(target.hostname or ""):
        configuration.proxy = proxy


_TEXT_ACCESS = (
    "k8s_api_host",
    "platform",
    "cluster_name",
    "region",
    "role",
    "kubeconfig",
    "context",
    "ca_cert",
)


def _check_types(access: ClusterAccess) -> None:
    for name in _TEXT_ACCESS:
        value = getattr(access, name)
        if value is not None and not isinstance(value, str):
            raise InvalidArguments(f"`{name}` must be a string, not {value!r}.")
    if not isinstance(access.verify_ssl, bool):
        raise InvalidArguments(
            f"`verify_ssl` must be true or false, not {access.verify_ssl!r}."
        )
    timeout = access.request_timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or timeout <= 0
    ):
        raise InvalidArguments(
            f"`request_timeout` must be a positive number of seconds, not {timeout!r}."
        )


@contextmanager
def connect(access: ClusterAccess, step_context: StepContext) -> Iterator[Cluster]:
    """A `Cluster` for one step, closed afterwards.

    Raises `InvalidArguments` for contradictory or missing access arguments and
    `StepFailed` when a kubeconfig or EKS cannot give access.
    """
    _check_types(access)
    configuration, identity = _configure(access, step_context)
    api_client = _StepApiClient(
        configuration, float(access.request_timeout), step_context.remaining_seconds
    )
    try:
        yield Cluster(
            api_client, configuration.host, identity, float(access.request_timeout)
        )
    finally:
        api_client.close()  # type: ignore[no-untyped-call]


def make_action(
    body: Callable[[Cluster, dict[str, Any]], Any],
    parameters: list[inspect.Parameter],
    *,
    name: str,
    doc: str | None,
    module: str,
) -> Callable[..., Any]:
    """A step action named `name` that runs `body(cluster, arguments)`.

    Its signature is `parameters` (made keyword-only) plus the access
    parameters and `step_context`; `body` gets the remaining arguments, with
    `step_context` when `parameters` declare it. API errors become `StepFailed`.
    """
    own = [p.replace(kind=_KW) for p in parameters if p.name != "step_context"]
    wants_context = len(own) != len(parameters)
    # An action's own `request_timeout` (exec_in_pods has one) serves both.
    shared = _ACCESS_NAMES & {p.name for p in own}
    if shared - {"request_timeout"}:
        raise TypeError(f"{name} redefines access parameters {sorted(shared)}")
    access_parameters = [p for p in ACCESS_PARAMETERS if p.name not in shared]
    signature = inspect.Signature([*own, *access_parameters, _STEP_CONTEXT])

    def action(**arguments: Any) -> Any:
        signature.bind(**arguments)
        step_context: StepContext = arguments.pop("step_context")
        access = ClusterAccess(
            **{
                k: arguments.pop(k)
                for k in list(arguments)
                if k in _ACCESS_NAMES - shared
            },
            **{k: arguments[k] for k in shared if k in arguments},
        )
        if wants_context:
            arguments["step_context"] = step_context
        with connect(access, step_context) as cluster:
            try:
                return body(cluster, arguments)
            except StepError:
                raise
            except Exception as err:
                failure = cluster.failure(err, arguments.get("ns"))
                if failure is None:
                    raise
                raise failure from err

    action.__name__ = action.__qualname__ = name
    action.__doc__ = (doc or "").rstrip() + _ACCESS_DOC
    action.__module__ = module
    action.__signature__ = signature  # type: ignore[attr-defined]
    return action


def cluster_action(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate ``function(cluster, *, ...)`` into a step action (see `make_action`)."""
    parameters = list(inspect.signature(function).parameters.values())[1:]

    def body(cluster: Cluster, arguments: dict[str, Any]) -> Any:
        return function(cluster, **arguments)

    return make_action(
        body,
        parameters,
        name=function.__name__,
        doc=function.__doc__,
        module=function.__module__,
    )
