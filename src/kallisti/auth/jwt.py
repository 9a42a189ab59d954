"""Verifying bearer JWTs against a JWKS endpoint (OIDC providers, Kallisti's
`KALLISTI_AUTH_JWKS_URL`).

Only asymmetric signatures are accepted, and only with the algorithm that fits
the key they name: `alg: none`, an HMAC token "signed" with a public key, a key
id the key set does not hold all fail. Keys are cached; an unknown key id makes
one refetch (at most one per `min_refetch_seconds`, so random ids cannot turn
us into a JWKS flooder). When the key set cannot be fetched and the key is not
already known the answer is 503, never 500 and never a silent accept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from kallisti.auth.errors import AuthUnavailable, NotAuthenticated

__all__ = ["JwtVerifier"]

logger = logging.getLogger(__name__)

_ALGORITHMS_BY_KEY_TYPE: dict[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512", "ES256K"}),
    "OKP": frozenset({"EdDSA"}),
}
_FETCH_TIMEOUT_SECONDS = 5.0


class JwtVerifier:
    """Checks a JWT's signature (from the JWKS), audience, issuer and expiry."""

    def __init__(
        self,
        jwks_url: str,
        *,
        audience: str,
        issuer: str = "",
        leeway_seconds: float = 30.0,
        refresh_seconds: float = 300.0,
        min_refetch_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway_seconds
        self._refresh = refresh_seconds
        self._min_refetch = min_refetch_seconds
        self._monotonic = monotonic
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        """Return the token's claims.

        Raises `NotAuthenticated` for any token that does not verify, and
        `AuthUnavailable` when its key cannot be looked up just now.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticated("The bearer token is not a JWT.") from None
        alg = header.get("alg")
        kid = header.get("kid") or header.get("x5t")
        if not isinstance(alg, str) or not isinstance(kid, str) or not kid:
            raise NotAuthenticated("The token header names no key (kid) or alg.")
        key = self._key(kid)
        fitting = _ALGORITHMS_BY_KEY_TYPE.get(str(key.key_type), frozenset())
        if alg not in fitting or _declared_alg(key) not in (None, alg):
            raise NotAuthenticated(
                f"The token's algorithm {alg!r} does not fit its key."
            )
        required = ["exp", "aud"] + (["iss"] if self._issuer else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer or None,
                leeway=self._leeway,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("The token has expired.") from None
        except jwt.PyJWTError as err:
            raise NotAuthenticated(f"The token is not valid: {err}.") from None
        return claims

    def _key(self, kid: str) -> PyJWK:
        with self._lock:
            now = self._monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > self._refresh
            may_refetch = (
                self._fetched_at is None or now - self._fetched_at >= self._min_refetch
            )
            fetched = True
            if stale or (kid not in self._keys and may_refetch):
                fetched = self._refetch(now)
            key = self._keys.get(kid)
        if key is None and not fetched:
            raise AuthUnavailable(
                "Tokens cannot be verified just now: the key set is unreachable."
            )
        if key is None:
            raise NotAuthenticated("The token's key id is not in the key set.")
        return key

    def _refetch(self, now: float) -> bool:
        """Fetch the key set; False when it cannot be fetched (the keys we had
        stay: an outage must not lock out callers whose keys we know)."""
        try:
            response = httpx.get(
                self._url,
                headers={"Accept": "application/json"},
                timeout=_FETCH_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as err:
            logger.warning(
                "cannot fetch the JWKS from %s: %s",
                self._url,
                err,
                extra={"action": "jwks_fetch_failed"},
            )
            return False
        self._keys = _parse_key_set(document)
        self._fetched_at = now
        return True


def _declared_alg(key: PyJWK) -> str | None:
    declared = getattr(key, "_jwk_data", {}).get("alg")
    return declared if isinstance(declared, str) else None


def _parse_key_set(document: Any) -> dict[str, PyJWK]:
    """The usable public keys by id; symmetric and unreadable keys are dropped."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    keys: dict[str, PyJWK] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") not in (
            _ALGORITHMS_BY_KEY_TYPE
        ):
            continue
        if entry.get("use", "sig") != "sig" or "d" in entry:
            continue  # not a signing key, or a private key published by mistake
        kid = entry.get("kid") or entry.get("x5t")
        if not isinstance(kid, str):
            continue
        try:
            keys[kid] = PyJWK(dict(entry))
        except jwt.PyJWTError:
            continue
    return keys
