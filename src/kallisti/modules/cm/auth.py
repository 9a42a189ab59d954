"""HTTP step authentication: Kallisti's `oauth2_token` type.

``{"type": "oauth2_token", "url": ..., "credentials": {...}, "client": {"id", "secret"},
"resource"?, "token_key"?}`` — with a token credential the token itself is sent;
with a username/password credential a password grant is posted to `url` (client
id and secret as HTTP Basic) and the token is read from `token_key` of the JSON
answer (default ``access_token``). Either way the token is masked in the record.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx

from kallisti.credentials import EnvVarUsernamePasswordCredential, TokenCredential
from kallisti.domain.errors import InvalidArguments, StepFailed
from kallisti.modules.context import StepContext

__all__ = ["authorization_header"]


async def authorization_header(
    client: httpx.AsyncClient, authentication: Mapping[str, Any], context: StepContext
) -> dict[str, str]:
    """Return the ``Authorization`` header `authentication` describes.

    Raises `InvalidArguments` for a malformed block and `StepFailed` when the
    token endpoint refuses.
    """
    if not isinstance(authentication, Mapping):
        raise InvalidArguments("authentication must be an object")
    if authentication.get("type") != "oauth2_token":
        raise InvalidArguments(
            f"authentication type {authentication.get('type')!r} is not supported; "
            "use 'oauth2_token'"
        )
    credential = context.build_credential(authentication.get("credentials") or {})
    if isinstance(credential, TokenCredential):
        token = credential.token
    elif isinstance(credential, EnvVarUsernamePasswordCredential):
        token = await _password_grant(client, authentication, credential, context)
    else:
        raise InvalidArguments(
            f"oauth2_token cannot use a credential of type {credential.type}"
        )
    context.add_secret(token)
    return {"Authorization": f"Bearer {token}"}


async def _password_grant(
    client: httpx.AsyncClient,
    authentication: Mapping[str, Any],
    credential: EnvVarUsernamePasswordCredential,
    context: StepContext,
) -> str:
    url = authentication.get("url")
    token_client = authentication.get("client") or {}
    if not isinstance(url, str) or not isinstance(token_client, Mapping):
        raise InvalidArguments("oauth2_token needs `url` and `client: {id, secret}`")
    form = {
        "grant_type": "password",
        "username": credential.username,
        "password": credential.password,
    }
    if authentication.get("resource"):
        form["resource"] = str(authentication["resource"])
    client_id = str(token_client.get("id", ""))
    client_secret = str(token_client.get("secret", ""))
    basic = httpx.BasicAuth(client_id, client_secret)
    # The Basic header is the client id and secret in base64: an echoing token
    # endpoint or a logged request must show neither.
    pair = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    for secret in (client_secret, pair, f"Basic {pair}"):
        context.add_secret(secret)
    try:
        response = await client.post(url, data=form, auth=basic)
    except httpx.HTTPError as err:
        raise StepFailed(
            f"Authentication request to {url} failed: {type(err).__name__}"
        ) from err
    if response.status_code >= 400:
        raise StepFailed(
            "Authentication for http request failed with status code "
            f"{response.status_code}. Details: {response.text[:500]}"
        )
    token_key = str(authentication.get("token_key") or "access_token")
    try:
        token = response.json()[token_key]
    except (ValueError, KeyError, TypeError):
        raise StepFailed(
            f"Authentication answer from {url} has no {token_key!r} field."
        ) from None
    return str(token)
