"""A real identity provider on loopback: a JWKS endpoint the test controls and
the private keys to sign RS256 and ES256 tokens with, and an OAuth2 sign-in
(implicit flow, or authorization code with PKCE and a token endpoint)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from loopback_http import LoopbackServer, QuietHandler

__all__ = ["AUDIENCE", "ISSUER", "IdentityProvider", "SigningKey"]

AUDIENCE = "kallisti-api"
ISSUER = "https://idp.example.test"


class SigningKey:
    """A private key with its key id and algorithm; its public half is a JWK."""

    def __init__(self, algorithm: str, kid: str | None = None) -> None:
        self.algorithm = algorithm
        self.kid = kid or f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        self.private: Any
        if algorithm.startswith("RS"):
            self.private = rsa.generate_private_key(
                public_exponent=65537, key_size=2048
            )
            public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk: dict[str, Any] = {**public, "kid": self.kid, "use": "sig"}


class IdentityProvider(LoopbackServer):
    """Serves `/jwks` on 127.0.0.1 and signs tokens with its keys."""

    def __init__(self) -> None:
        self.keys = [SigningKey("RS256"), SigningKey("ES256")]
        self.available = True
        self.signed_in_as: tuple[str, list[str]] = ("alice", ["viewer"])
        self.fetches = 0
        self.codes: dict[str, dict[str, str]] = {}
        """Codes handed out and not yet traded, with what they were given for."""
        self.token_requests: list[dict[str, str]] = []
        provider = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/authorize"):
                    self._authorize()
                    return
                provider.fetches += 1
                if not provider.available:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"keys": [k.jwk for k in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                if not self.path.startswith("/token"):
                    self._answer(404, {"error": "not_found"})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = {
                    k: v[0]
                    for k, v in parse_qs(self.rfile.read(length).decode()).items()
                }
                provider.token_requests.append(form)
                status, body = provider.trade(form)
                self._answer(status, body)

            def _answer(self, status: int, answer: dict[str, Any]) -> None:
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorize(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if query.get("response_type") == ["code"]:
                    self._authorize_code(query)
                    return
                # OAuth2 implicit flow: the user is taken to have signed in as
                # `provider.signed_in_as`; the token goes back in the fragment.
                subject, roles = provider.signed_in_as
                answer = urlencode(
                    {
                        "access_token": provider.token(subject, roles=roles),
                        "token_type": "Bearer",
                        "state": query.get("state", [""])[0],
                    }
                )
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri'][0]}#{answer}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _authorize_code(self, query: dict[str, list[str]]) -> None:
                # Authorization code with PKCE: the code goes back in the query;
                # the token only to whoever shows the verifier (`trade`).
                code = secrets.token_urlsafe(16)
                provider.codes[code] = {
                    "client_id": query["client_id"][0],
                    "redirect_uri": query["redirect_uri"][0],
                    "challenge": query["code_challenge"][0],
                    "method": query.get("code_challenge_method", ["plain"])[0],
                }
                answer = urlencode({"code": code, "state": query.get("state", [""])[0]})
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri'][0]}?{answer}")
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)

    def service_auth(self, **overrides: Any) -> dict[str, Any]:
        """The `Settings` that turn access control on against this provider:
        its JWKS, audience and issuer, roles in the `roles` claim."""
        return {
            "auth_jwks_url": self.jwks_url,
            "auth_jwt_audience": AUDIENCE,
            "auth_jwt_issuer": ISSUER,
            "auth_roles_claim": "roles",
            **overrides,
        }

    @property
    def authorize_url(self) -> str:
        """OAuth2 authorization endpoint (implicit flow)."""
        return f"{self.url}/authorize"

    @property
    def token_url(self) -> str:
        """OAuth2 token endpoint (authorization-code flow)."""
        return f"{self.url}/token"

    def trade(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a token request as RFC 6749 and RFC 7636 say: a code is good
        once, for its client and redirect URI, with the matching verifier."""
        given = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        if given is None:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        if given["method"] == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (
            verifier != given["challenge"]
            or form.get("client_id") != given["client_id"]
            or form.get("redirect_uri") != given["redirect_uri"]
        ):
            return 400, {"error": "invalid_grant"}
        subject, roles = self.signed_in_as
        token = self.token(subject, roles=roles)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def token(
        self,
        subject: str = "alice",
        *,
        roles: list[str] | str | None = None,
        key: SigningKey | None = None,
        lifetime_seconds: float = 300,
        **claims: Any,
    ) -> str:
        """A token signed by one of this provider's keys (RS256 by default)."""
        key = key or self.keys[0]
        now = time.time()
        payload: dict[str, Any] = {
            "sub": subject,
            "aud": AUDIENCE,
            "iss": ISSUER,
            "iat": int(now),
            "exp": int(now + lifetime_seconds),
        }
        if roles is not None:
            payload["roles"] = roles
        payload.update(claims)
        return jwt.encode(
            payload, key.private, algorithm=key.algorithm, headers={"kid": key.kid}
        )
