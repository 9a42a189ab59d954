"""One step's access to a Cloud Foundry API: a session, a token, clear failures.

chaostoolkit-cloud-foundry authenticates again before *every* API call and,
when UAA refuses, says only "failed to auth against Cloud Foundry". So the
step fetches one token itself (UAA's password grant, at the
`authorization_endpoint` that ``/v2/info`` names), masks it in the record, and
hands it to the driver as ``cf_access_token``; the driver's requests go
through the step's session (`kallisti.modules.step_http`), with TLS verified
and a time-out. In a dry run the session holds back every changing request
and logs it: the driver's reads resolve the targets (app guids, instance
indexes), the changes are only named.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import chaoscf.api
import requests

from kallisti.credentials import Credential
from kallisti.domain.errors import (
    CredentialError,
    InvalidArguments,
    StepError,
    StepFailed,
)
from kallisti.modules.context import Fault, StepContext, read_only, target_path
from kallisti.modules.step_http import HttpService, StepRequests, StepSession, install

__all__ = [
    "CF_PASSWORD_KEY",
    "CF_USERNAME_KEY",
    "cf_action",
    "default_credentials",
    "stopped_app_fault",
]

CF_USERNAME_KEY = "CF_USERNAME"
CF_PASSWORD_KEY = "CF_PASSWORD"
DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
_KW = inspect.Parameter.KEYWORD_ONLY
_DRIVER_ARGUMENTS = ("configuration", "secrets")
_REQUESTS = StepRequests("chaostoolkit-cloud-foundry")
_ACCESS_PARAMETERS = [
    inspect.Parameter("cf_api_url", _KW, annotation="str"),
    inspect.Parameter("client_id", _KW, default="cf", annotation="str"),
    inspect.Parameter("client_secret", _KW, default="", annotation="str"),
    inspect.Parameter("credentials", _KW, default=None, annotation="Credential | None"),
    inspect.Parameter(
        "request_timeout",
        _KW,
        default=DEFAULT_REQUEST_TIMEOUT_SECONDS,
        annotation="float",
    ),
]
_ACCESS_NAMES = frozenset(p.name for p in _ACCESS_PARAMETERS)
_ACCESS_DOC = """

Kallisti access: `cf_api_url`; a username/password credential (default
ENV_VAR_USERNAME_PASSWORD from CF_USERNAME / CF_PASSWORD on the worker);
`client_id` (default "cf") and `client_secret`. TLS is verified (the worker's
REQUESTS_CA_BUNDLE names a private CA)."""


def default_credentials(where: Any) -> dict[str, str]:
    """Kallisti's default: the user and password in CF_USERNAME / CF_PASSWORD."""
    return {
        "type": "ENV_VAR_USERNAME_PASSWORD",
        "username_key": CF_USERNAME_KEY,
        "password_key": CF_PASSWORD_KEY,
    }


def _user_and_password(credentials: Credential | None) -> tuple[str, str]:
    username = getattr(credentials, "username", None)
    password = getattr(credentials, "password", None)
    if not isinstance(username, str) or not isinstance(password, str):
        shown = credentials.describe() if credentials else "no credential"
        raise CredentialError(
            f"cf needs a username and password (ENV_VAR_USERNAME_PASSWORD), not "
            f"{shown}."
        )
    return username, password


def _token(
    session: StepSession,
    api: HttpService,
    credentials: Credential,
    client_id: str,
    client_secret: str,
    step_context: StepContext,
) -> str:
    username, password = _user_and_password(credentials)
    info = session.fetch("GET", f"{api.url}/v2/info")
    if info.status_code != 200:
        raise StepFailed(
            f"The Cloud Foundry API at {api.url} answered /v2/info with "
            f"{info.status_code}; check `cf_api_url`."
        )
    try:
        uaa = str(info.json()["authorization_endpoint"]).rstrip("/")
    except (ValueError, KeyError, TypeError):
        raise StepFailed(
            f"{api.url}/v2/info names no authorization_endpoint; is `cf_api_url` a "
            "Cloud Foundry API?"
        ) from None
    answer = session.fetch(
        "POST",
        f"{uaa}/oauth/token",
        data={"grant_type": "password", "username": username, "password": password},
        auth=(client_id, client_secret),
        headers={"Accept": "application/json"},
    )
    if answer.status_code in (400, 401, 403):
        raise StepFailed(
            f"Cloud Foundry's UAA at {uaa} refused the login ({answer.status_code}"
            f"{_uaa_reason(answer)}) of client {client_id!r} with the "
            f"{credentials.describe()}; check the user, the password and "
            "`client_id` / `client_secret`."
        )
    if answer.status_code != 200:
        raise StepFailed(
            f"Cloud Foundry's UAA at {uaa} answered the token request with "
            f"{answer.status_code}."
        )
    tokens = answer.json()
    for secret in (tokens.get("access_token"), tokens.get("refresh_token")):
        if isinstance(secret, str) and secret:
            step_context.add_secret(secret)
    token = tokens.get("access_token")
    if not isinstance(token, str) or not token:
        raise StepFailed(f"Cloud Foundry's UAA at {uaa} gave no access token.")
    return token


def _uaa_reason(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return f" {error}" if isinstance(error, str) else ""


def _plain(result: Any) -> Any:
    """`call_api`'s `Response` as `cm`'s result dict; anything else as it is."""
    if not isinstance(result, requests.Response):
        return result
    plain: dict[str, Any] = {
        "status_code": result.status_code,
        "response_text": result.text,
    }
    try:
        plain["response"] = result.json()
    except ValueError:
        pass
    return plain


def _check(cf_api_url: Any, client_id: Any, client_secret: Any, timeout: Any) -> None:
    if not isinstance(cf_api_url, str) or not cf_api_url.startswith(
        ("http://", "https://")
    ):
        raise InvalidArguments(
            f"`cf_api_url` must be the API's https:// address, not {cf_api_url!r}."
        )
    for name, value in (("client_id", client_id), ("client_secret", client_secret)):
        if not isinstance(value, str):
            raise InvalidArguments(f"`{name}` must be a string.")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or timeout <= 0
    ):
        raise InvalidArguments(
            f"`request_timeout` must be a positive number of seconds, not {timeout!r}."
        )


_APP_PATH = re.compile(r"/v2/apps/([^/?]+)$")


def _stopped_app(method: str, url: str, body: Any) -> str | None:
    """The guid of the app a request stops (the driver's ``PUT /v2/apps/<guid>``
    with state STOPPED), else None."""
    if method != "PUT" or not isinstance(body, dict):
        return None
    if body.get("state") != "STOPPED":
        return None
    found = _APP_PATH.search(urlsplit(url).path)
    return found.group(1) if found else None


def stopped_app_fault(cf_api_url: str, app_guid: str, app_name: Any) -> Fault:
    """The ledger entry of stopping an app: undone by starting it."""
    named = f"{app_name!r} ({app_guid})" if isinstance(app_name, str) else app_guid
    return Fault(
        target=target_path("cf", cf_api_url, f"app:{app_guid}"),
        change=f"Cloud Foundry app {named} stopped",
        how=f"start Cloud Foundry app {named}",
        undo={"kind": "cf_app_stopped", "app_guid": app_guid},
    )


def cf_action(
    driver: Callable[..., Any], *, changes: bool, source: str
) -> Callable[..., Any]:
    """Wrap a chaostoolkit-cloud-foundry style function (`configuration`,
    `secrets`) as a step action with Kallisti's access arguments."""
    name = driver.__name__
    own = [
        p.replace(kind=_KW)
        for p in inspect.signature(driver).parameters.values()
        if p.name not in _DRIVER_ARGUMENTS
    ]
    parameters = [*own, *_ACCESS_PARAMETERS]
    if changes:
        parameters.append(
            inspect.Parameter("dry_run", _KW, default=False, annotation="bool")
        )
    parameters.append(inspect.Parameter("step_context", _KW, annotation="StepContext"))
    signature = inspect.Signature(parameters)

    def action(**arguments: Any) -> Any:
        signature.bind(**arguments)
        step_context: StepContext = arguments.pop("step_context")
        dry_run = bool(arguments.pop("dry_run", False))
        access = {k: arguments.pop(k) for k in list(arguments) if k in _ACCESS_NAMES}
        cf_api_url = access["cf_api_url"]
        client_id = access.get("client_id", "cf")
        client_secret = access.get("client_secret", "")
        timeout = access.get("request_timeout", DEFAULT_REQUEST_TIMEOUT_SECONDS)
        _check(cf_api_url, client_id, client_secret, timeout)
        credentials = access.get("credentials")
        if credentials is None:
            raise CredentialError(
                "cf needs a username and password: set CF_USERNAME and CF_PASSWORD "
                "on the worker, or give `credentials`."
            )
        api = HttpService(
            name="the Cloud Foundry API",
            url=cf_api_url.rstrip("/"),
            url_argument="cf_api_url",
            tls_fix="give its CA to the worker in REQUESTS_CA_BUNDLE.",
            kind="a Cloud Foundry API",
        )
        held_back: list[str] = []

        def hold_back(method: str, url: str, body: Any) -> None:
            shown = f" {json.dumps(body)}" if body is not None else ""
            held_back.append(url)
            step_context.log(
                f"Dry run: would {method} {url}{shown}; nothing was changed."
            )

        def before_change(method: str, url: str, body: Any) -> None:
            app = _stopped_app(method, url, body)
            if app is not None:
                step_context.record_fault(
                    stopped_app_fault(api.url, app, arguments.get("app_name"))
                )

        session = StepSession(
            timeout=float(timeout),
            held_back=hold_back if dry_run else None,
            before_change=before_change,
        )
        session.verify = True
        install(chaoscf.api, _REQUESTS)
        with _REQUESTS.use(session):
            try:
                token = _token(
                    session, api, credentials, client_id, client_secret, step_context
                )
                result = driver(
                    **arguments,
                    configuration={"cf_api_url": api.url, "cf_verify_ssl": True},
                    secrets={"cf_access_token": token, "cf_token_type": "bearer"},
                )
            except StepError:
                raise
            except Exception as err:
                failure = api.failure(name, err)
                if failure is None:
                    raise
                raise failure from err
        if dry_run:
            if not held_back:
                step_context.log(f"Dry run: {name} found nothing it would change.")
            return None
        return _plain(result)

    doc = inspect.cleandoc(driver.__doc__ or "").strip()
    action.__name__ = action.__qualname__ = name
    action.__doc__ = f"{doc}\n\n({source}){_ACCESS_DOC}"
    action.__module__ = "kallisti.modules.cf"
    action.__signature__ = signature  # type: ignore[attr-defined]
    return action if changes else read_only(action)
