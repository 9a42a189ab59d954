"""The `requests` calls of a chaostoolkit driver, made through the step's own session.

Drivers written on `requests` (chaostoolkit-prometheus, -cloud-foundry) call
``requests.get`` / ``requests.request`` on the module, with no time-out and no
way to hold back a change. `StepRequests` stands in for the `requests` name
inside such a driver module: each call goes to the `StepSession` of the step
running in the current context (a `ContextVar`, set in the step's own worker
thread), which adds the step's time-out and, in a dry run, answers changing
requests itself instead of sending them. Outside a step it refuses to send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import requests
from chaoslib.exceptions import ActivityFailed

from kallisti.domain.errors import StepFailed

__all__ = ["HttpService", "StepRequests", "StepSession", "install"]

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_install_lock = threading.Lock()


class StepSession(requests.Session):
    """One step's HTTP session: a time-out on every request; in a dry run,
    changing requests are logged through `held_back` and answered 200 ``{}``."""

    def __init__(
        self,
        *,
        timeout: float,
        held_back: Callable[[str, str, Any], None] | None = None,
        before_change: Callable[[str, str, Any], None] | None = None,
    ) -> None:
        super().__init__()
        self.trust_env = True
        self._timeout = timeout
        self._held_back = held_back
        # Called before a changing request is sent (the fault ledger); what it
        # raises keeps the request from being sent.
        self._before_change = before_change

    def request(  # type: ignore[override]
        self, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        if method.upper() not in _READ_METHODS:
            if self._held_back is not None:
                self._held_back(method.upper(), url, kwargs.get("json"))
                return _empty_answer(url)
            if self._before_change is not None:
                self._before_change(method.upper(), url, kwargs.get("json"))
        return self.fetch(method, url, **kwargs)

    def fetch(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send even in a dry run: for a POST that changes nothing (a token)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, **kwargs)


def _empty_answer(url: str) -> requests.Response:
    answer = requests.Response()
    answer.status_code = 200
    answer.url = url
    answer._content = json.dumps({}).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


class StepRequests:
    """Stands in for the `requests` module inside one driver module."""

    def __init__(self, driver: str) -> None:
        self._driver = driver
        self._session: ContextVar[StepSession | None] = ContextVar(
            f"kallisti_{driver}_step_session", default=None
        )

    def __getattr__(self, name: str) -> Any:
        # Exceptions, `Response` and the rest stay the real module's.
        return getattr(requests, name)

    def _current(self) -> StepSession:
        session = self._session.get()
        if session is None:
            raise RuntimeError(
                f"{self._driver} was called outside a Kallisti step; Kallisti sends "
                "its requests only through a step's own session."
            )
        return session

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self._current().request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)

    @contextmanager
    def use(self, session: StepSession) -> Iterator[StepSession]:
        """Send this context's driver requests through `session`, closed after."""
        token = self._session.set(session)
        try:
            yield session
        finally:
            self._session.reset(token)
            session.close()


def install(module: ModuleType, stand_in: StepRequests) -> None:
    """Replace `module`'s `requests` name by `stand_in` (idempotent)."""
    with _install_lock:
        if module.__dict__.get("requests") is not stand_in:
            module.requests = stand_in  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HttpService:
    """The service a `requests`-based driver talks to, named for error messages.

    `failure` turns what `requests` or the driver raised into one line naming
    the service, its address and the argument or setting that fixes it.
    """

    name: str  # "the Cloud Foundry API", "Prometheus"
    url: str
    url_argument: str  # the `where` argument that holds the address
    tls_fix: str
    unreachable_fix: str = ""  # said after "check `<url_argument>`"
    kind: str = ""  # what `url_argument` should point at: "a Prometheus server"

    def failure(self, action: str, err: Exception) -> StepFailed | None:
        """The step's failure for `err`, or None when it is none of these."""
        check = f"check `{self.url_argument}`"
        if isinstance(err, requests.exceptions.SSLError):
            return StepFailed(
                f"TLS verification of {self.name} at {self.url} failed: it does not "
                f"prove its identity; {self.tls_fix}"
            )
        if isinstance(err, requests.exceptions.Timeout):
            return StepFailed(
                f"{_capitalised(self.name)} at {self.url} did not answer in time; "
                f"raise `request_timeout` or {check}."
            )
        if isinstance(err, requests.exceptions.ConnectionError):
            return StepFailed(
                f"{_capitalised(self.name)} at {self.url} is unreachable "
                f"({_connection_reason(err)}); {check}{self.unreachable_fix}."
            )
        if isinstance(err, ActivityFailed):
            lines = str(err).strip().splitlines()
            return StepFailed(f"{action}: {lines[0] if lines else 'failed'}")
        if isinstance(err, requests.exceptions.JSONDecodeError):
            return StepFailed(
                f"{self.url} answered {action} with something other than JSON; is "
                f"`{self.url_argument}` {self.kind}?"
            )
        return None


def _capitalised(name: str) -> str:
    return name[:1].upper() + name[1:]


def _connection_reason(err: Exception) -> str:
    text = str(err)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return type(err).__name__
