"""The JWT verifier against a real JWKS endpoint on loopback: forged, unsigned
and HMAC tokens, key rotation, and a key set that goes away."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from identity_provider import AUDIENCE, ISSUER, IdentityProvider, SigningKey
from kallisti.auth import AuthUnavailable, NotAuthenticated
from kallisti.auth.jwt import JwtVerifier


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider().start()
    yield provider
    provider.stop()


def _verifier(provider: IdentityProvider, **options: float) -> JwtVerifier:
    return JwtVerifier(
        provider.jwks_url,
        audience=AUDIENCE,
        issuer=ISSUER,
        min_refetch_seconds=options.get("min_refetch_seconds", 0.0),
        refresh_seconds=options.get("refresh_seconds", 300.0),
    )


def _b64_bytes(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64(data: Mapping[str, Any]) -> str:
    return _b64_bytes(json.dumps(data).encode())


def test_rs256_and_es256_tokens_verify(provider: IdentityProvider) -> None:
    verifier = _verifier(provider)

    for key in provider.keys:
        claims = verifier.verify(provider.token("alice", key=key))
        assert claims["sub"] == "alice"


def test_an_unsigned_token_is_refused(provider: IdentityProvider) -> None:
    real = jwt.decode(provider.token("alice"), options={"verify_signature": False})
    header = {"alg": "none", "typ": "JWT", "kid": provider.keys[0].kid}
    token = f"{_b64(header)}.{_b64(real)}."

    with pytest.raises(NotAuthenticated, match="algorithm 'none'"):
        _verifier(provider).verify(token)


def test_an_hmac_token_keyed_with_the_public_key_is_refused(
    provider: IdentityProvider,
) -> None:
    # The classic confusion attack: sign with HS256 using the public key's bytes.
    key = provider.keys[0]
    public_pem = key.private.public_key().public_bytes(
        encoding=Encoding.PEM, format=PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(provider.token("alice"), options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(claims)}".encode()
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = f"{signing_input.decode()}.{_b64_bytes(signature)}"

    with pytest.raises(NotAuthenticated, match="does not fit its key"):
        _verifier(provider).verify(token)


def test_an_es256_token_naming_an_rsa_key_is_refused(
    provider: IdentityProvider,
) -> None:
    ec_key = provider.keys[1]
    impostor = SigningKey("ES256", kid=provider.keys[0].kid)
    impostor.private = ec_key.private

    with pytest.raises(NotAuthenticated):
        _verifier(provider).verify(provider.token("alice", key=impostor))


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    provider: IdentityProvider,
) -> None:
    verifier = _verifier(provider)
    verifier.verify(provider.token("alice"))
    fetches = provider.fetches

    rotated = SigningKey("RS256")
    provider.keys.append(rotated)
    claims = verifier.verify(provider.token("bob", key=rotated))

    assert claims["sub"] == "bob"
    assert provider.fetches == fetches + 1


def test_known_keys_are_not_refetched_for_each_token(
    provider: IdentityProvider,
) -> None:
    verifier = _verifier(provider)

    for _ in range(5):
        verifier.verify(provider.token("alice"))

    assert provider.fetches == 1


def test_unknown_key_ids_refetch_at_most_once_per_interval(
    provider: IdentityProvider,
) -> None:
    verifier = _verifier(provider, min_refetch_seconds=3600)
    verifier.verify(provider.token("alice"))

    for _ in range(5):
        with pytest.raises(NotAuthenticated, match="key id"):
            verifier.verify(provider.token("eve", key=SigningKey("RS256")))

    assert provider.fetches == 1


def test_an_unreachable_key_set_is_503_not_a_crash(
    provider: IdentityProvider,
) -> None:
    provider.available = False

    with pytest.raises(AuthUnavailable) as raised:
        _verifier(provider).verify(provider.token("alice"))

    assert raised.value.status_code == 503


def test_known_keys_keep_working_through_an_outage(
    provider: IdentityProvider,
) -> None:
    verifier = _verifier(provider, refresh_seconds=0.000001)
    verifier.verify(provider.token("alice"))
    provider.available = False

    assert verifier.verify(provider.token("alice"))["sub"] == "alice"
    with pytest.raises(AuthUnavailable):  # perhaps a new key: not a 401
        verifier.verify(provider.token("eve", key=SigningKey("RS256")))


def test_symmetric_keys_in_the_key_set_are_ignored(
    provider: IdentityProvider,
) -> None:
    secret = b"shared-secret-that-is-long-enough-32b"
    provider.keys.clear()
    oct_key = SigningKey("RS256", kid="hmac")
    oct_key.jwk = {
        "kty": "oct",
        "kid": "hmac",
        "k": base64.urlsafe_b64encode(secret).rstrip(b"=").decode(),
    }
    provider.keys.append(oct_key)
    token = jwt.encode(
        {"sub": "eve", "aud": AUDIENCE, "iss": ISSUER, "exp": 2**31},
        secret,
        algorithm="HS256",
        headers={"kid": "hmac"},
    )

    with pytest.raises(NotAuthenticated):
        _verifier(provider).verify(token)
