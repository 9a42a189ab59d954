"""Signing in to the console with the OAuth2 authorization-code flow and PKCE.

The browser gets the code from the identity provider; this exchanges it for a
token at the configured token endpoint (KALLISTI_AUTH_JWT_TOKEN_URL), on the
server. So the console's Content-Security-Policy stays `default-src 'self'`,
the provider needs no CORS rule for the console, and a confidential client's
secret (KALLISTI_AUTH_CLIENT_SECRET) never reaches a browser. Only the access
token goes back: no refresh or id token is handed to the page.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from kallisti.auth.errors import AuthUnavailable
from kallisti.domain.errors import InvalidInput, Refused
from kallisti.settings import Settings

__all__ = ["CODE_FLOWS", "code_flow_configured", "exchange_code"]

logger = logging.getLogger(__name__)

CODE_FLOWS = frozenset({"authorizationCode", "accessCode"})
"""KALLISTI_AUTH_FLOW values for this flow (OpenAPI 3's name, Kallisti's)."""
_TIMEOUT_SECONDS = 10.0
_MAX_ERROR_TEXT = 200


def code_flow_configured(settings: Settings) -> bool:
    """Tell whether the console may offer the authorization-code sign-in."""
    return bool(
        settings.access_control
        and settings.auth_flow in CODE_FLOWS
        and settings.auth_url
        and settings.auth_jwt_token_url
        and settings.auth_client_id
    )


def exchange_code(
    settings: Settings, *, code: str, code_verifier: str, redirect_uri: str
) -> dict[str, Any]:
    """Trade an authorization code for the provider's access token.

    Returns ``{"access_token", "token_type", "expires_in"}``. Raises `Refused`
    when the service is not set up for this flow, `InvalidInput` (field
    `code`) when the provider refuses the code, and `AuthUnavailable` when it
    cannot be reached or answers nonsense.
    """
    if not code_flow_configured(settings):
        raise Refused(
            "This service is not set up for the authorization-code sign-in "
            "(KALLISTI_AUTH_FLOW=authorizationCode with KALLISTI_AUTH_URL, "
            "KALLISTI_AUTH_JWT_TOKEN_URL and KALLISTI_AUTH_CLIENT_ID)."
        )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.auth_client_id,
        "code_verifier": code_verifier,
    }
    secret = settings.auth_client_secret.get_secret_value()
    if secret:
        form["client_secret"] = secret
    try:
        response = httpx.post(
            settings.auth_jwt_token_url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=_TIMEOUT_SECONDS,
        )
        answer = response.json()
    except (httpx.HTTPError, ValueError) as err:
        logger.warning(
            "the token endpoint cannot be reached: %s",
            type(err).__name__,
            extra={"action": "code_sign_in"},
        )
        raise AuthUnavailable(
            "The identity provider's token endpoint cannot be reached just now."
        ) from None
    if not isinstance(answer, dict):
        raise AuthUnavailable("The identity provider answered something unreadable.")
    if response.status_code in (400, 401) and "error" in answer:
        # RFC 6749 5.2: the provider's own error code says why (invalid_grant…).
        reason = str(answer["error"])[:_MAX_ERROR_TEXT]
        raise InvalidInput("code", f"the identity provider refused it ({reason})")
    token = answer.get("access_token")
    if response.status_code != 200 or not isinstance(token, str) or not token:
        raise AuthUnavailable(
            f"The identity provider's token endpoint answered {response.status_code} "
            "without an access token."
        )
    expires_in = answer.get("expires_in")
    return {
        "access_token": token,
        "token_type": str(answer.get("token_type", "Bearer")),
        "expires_in": expires_in if isinstance(expires_in, int) else None,
    }
