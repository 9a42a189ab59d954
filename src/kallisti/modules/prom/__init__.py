"""`prom`: Prometheus queries, as Kallisti's `prom` module offers them.

Every chaostoolkit-prometheus probe is callable as ``prom.<name>``, with
Kallisti's `base_url` in `where` instead of the driver's `configuration`:
`query(query, when)`, `query_interval(query, start, end, step)` (times as
RFC 3339 or phrases such as ``"5 minutes ago"``), `compute_mean` and
`nodes_cpu_usage_mean`. The result is Prometheus's JSON answer as it came, so
`expect` reads it by path (``data.result.0.value.1``); metric values are
strings there, and compare as numbers.

The driver sends its requests with no time-out; here each step's go through
its own session with `request_timeout` (default 30 s), and failures become one
line naming the server and the fix.
"""

from __future__ import annotations

import inspect
from typing import Any

import chaosprometheus.probes

from kallisti.domain.errors import InvalidArguments
from kallisti.modules.context import read_only
from kallisti.modules.step_http import HttpService, StepRequests, StepSession, install

__all__ = ["compute_mean", "nodes_cpu_usage_mean", "query", "query_interval"]

DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
_KW = inspect.Parameter.KEYWORD_ONLY
_DRIVER_ARGUMENTS = ("configuration", "secrets")
_REQUESTS = StepRequests("chaostoolkit-prometheus")
_ACCESS_DOC = """

`base_url` is the Prometheus server's address (``http://prometheus:9090``);
`request_timeout` bounds each HTTP request, in seconds."""


def _check_access(base_url: Any, request_timeout: Any) -> str:
    if not isinstance(base_url, str) or not base_url.startswith(
        ("http://", "https://")
    ):
        raise InvalidArguments(
            f"`base_url` must be the Prometheus server's http(s):// address, not "
            f"{base_url!r}."
        )
    if (
        isinstance(request_timeout, bool)
        or not isinstance(request_timeout, int | float)
        or request_timeout <= 0
    ):
        raise InvalidArguments(
            "`request_timeout` must be a positive number of seconds, not "
            f"{request_timeout!r}."
        )
    return base_url.rstrip("/")


def _probe(name: str) -> Any:
    driver = getattr(chaosprometheus.probes, name)
    own = [
        p.replace(kind=_KW)
        for p in inspect.signature(driver).parameters.values()
        if p.name not in _DRIVER_ARGUMENTS
    ]
    signature = inspect.Signature(
        [
            *own,
            inspect.Parameter("base_url", _KW, annotation="str"),
            inspect.Parameter(
                "request_timeout",
                _KW,
                default=DEFAULT_REQUEST_TIMEOUT_SECONDS,
                annotation="float",
            ),
            inspect.Parameter("step_context", _KW, annotation="StepContext"),
        ]
    )

    def action(**arguments: Any) -> Any:
        signature.bind(**arguments)
        del arguments["step_context"]  # queries carry no secret to mask
        timeout = arguments.pop("request_timeout", DEFAULT_REQUEST_TIMEOUT_SECONDS)
        base_url = _check_access(arguments.pop("base_url"), timeout)
        install(chaosprometheus.probes, _REQUESTS)
        with _REQUESTS.use(StepSession(timeout=float(timeout))):
            try:
                return driver(
                    **arguments,
                    configuration={"prometheus_base_url": base_url},
                    secrets=None,
                )
            except Exception as err:
                failure = HttpService(
                    name="Prometheus",
                    url=base_url,
                    url_argument="base_url",
                    tls_fix="give its CA to the worker in REQUESTS_CA_BUNDLE.",
                    unreachable_fix=" and that the server runs",
                    kind="a Prometheus server",
                ).failure(name, err)
                if failure is None:
                    raise
                raise failure from err

    action.__name__ = action.__qualname__ = name
    action.__doc__ = inspect.cleandoc(driver.__doc__ or "") + _ACCESS_DOC
    action.__module__ = __name__
    action.__signature__ = signature  # type: ignore[attr-defined]
    return read_only(action)


query = _probe("query")
query_interval = _probe("query_interval")
compute_mean = _probe("compute_mean")
nodes_cpu_usage_mean = _probe("nodes_cpu_usage_mean")
