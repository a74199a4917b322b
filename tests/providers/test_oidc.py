"""OIDC bearer tokens against a local JWKS (served with respx): a valid token names its person
and roles; wrong audience, expired, unknown key, wrong signature are refused; a rotated key is
picked up."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.domain.identity import Role
from backend.providers.oidc import InvalidBearer, OidcConfig, OidcVerifier, looks_like_jwt

JWKS_URL = "https://idp.example/.well-known/jwks.json"
CONFIG = OidcConfig(jwks_url=JWKS_URL, audience="flightdeck", issuer="https://idp.example/")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def token(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    body = {
        "iss": "https://idp.example/",
        "aud": "flightdeck",
        "exp": int(time.time()) + 300,
        "preferred_username": "dana",
        "roles": ["approver", "not-a-role"],
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def idp() -> AsyncIterator[tuple[respx.MockRouter, rsa.RSAPrivateKey]]:
    key = new_key()
    with respx.mock(assert_all_called=False) as router:
        router.get(JWKS_URL).mock(return_value=httpx.Response(200, json={"keys": [jwk(key, "k1")]}))
        yield router, key


async def test_a_valid_token_names_its_person_and_roles(
    idp: tuple[respx.MockRouter, rsa.RSAPrivateKey],
) -> None:
    _, key = idp
    verifier = OidcVerifier(CONFIG)
    principal = await verifier.principal(token(key, "k1"))
    assert principal.name == "dana" and principal.roles == [Role.APPROVER]
    assert principal.via == "oidc" and principal.personal
    await verifier.aclose()


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "someone-else"}, "Audience"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "https://evil.example/"}, "issuer"),
    ],
)
async def test_bad_claims_are_refused(
    idp: tuple[respx.MockRouter, rsa.RSAPrivateKey], claims: dict[str, Any], why: str
) -> None:
    _, key = idp
    verifier = OidcVerifier(CONFIG)
    with pytest.raises(InvalidBearer, match=why):
        await verifier.principal(token(key, "k1", **claims))
    await verifier.aclose()


async def test_a_forged_signature_and_an_unknown_key_are_refused(
    idp: tuple[respx.MockRouter, rsa.RSAPrivateKey],
) -> None:
    verifier = OidcVerifier(CONFIG, refresh_seconds=0)
    with pytest.raises(InvalidBearer, match="Signature"):
        await verifier.principal(token(new_key(), "k1"))
    with pytest.raises(InvalidBearer, match="unknown key 'k9'"):
        await verifier.principal(token(new_key(), "k9"))
    await verifier.aclose()


async def test_a_rotated_key_is_fetched_when_first_seen(
    idp: tuple[respx.MockRouter, rsa.RSAPrivateKey],
) -> None:
    router, old = idp
    verifier = OidcVerifier(CONFIG, refresh_seconds=0)
    assert (await verifier.principal(token(old, "k1"))).name == "dana"
    rotated = new_key()
    router.get(JWKS_URL).mock(
        return_value=httpx.Response(200, json={"keys": [jwk(old, "k1"), jwk(rotated, "k2")]})
    )
    assert (await verifier.principal(token(rotated, "k2", preferred_username="eli"))).name == "eli"
    await verifier.aclose()


def test_only_jwt_shaped_tokens_are_tried_as_jwt() -> None:
    assert looks_like_jwt("a.b.c") and not looks_like_jwt("fdt_abc") and not looks_like_jwt("x")
