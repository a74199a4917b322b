"""Identity comes from authentication: personal tokens (and OIDC) name the actor whatever the
body says, roles are checked server-side, and whoever requested an entity cannot approve it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.api.app import create_app
from backend.api.context import ApiContext
from backend.api.identity import Unauthenticated, principal_for
from backend.domain.identity import Role
from backend.providers.oidc import OidcConfig, OidcVerifier
from backend.store.tokens import TokenRepository
from tests.api.conftest import api_context
from tests.stack import Stack, eventually


@pytest.fixture
async def context(stack: Stack) -> ApiContext:
    return api_context(stack)


@pytest.fixture
async def people(context: ApiContext) -> dict[str, str]:
    tokens = TokenRepository(context.database)
    return {
        "vic": await tokens.add("vic", [Role.VIEWER]),
        "olga": await tokens.add("olga", [Role.OPERATOR]),
        "alice": await tokens.add("alice", [Role.APPROVER]),
        "bob": await tokens.add("bob", [Role.APPROVER]),
        "wendy": await tokens.add("wendy", [Role.WORKER]),
    }


@pytest.fixture
async def as_person(context: ApiContext) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []
    app = create_app(context)

    def make(token: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://flightdeck",
            headers={"Authorization": f"Bearer {token}"},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


LAB = {"name": "mine", "requested_by": "someone-else", "severity": "low", "ttl_hours": 1}


async def test_roles_are_checked_on_the_server(as_person: Any, people: dict[str, str]) -> None:
    viewer = as_person(people["vic"])
    assert (await viewer.get("/api/v1/labs")).status_code == 200
    refused = await viewer.post("/api/v1/labs", json=LAB)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "vic (viewer) may not do this: it needs the operator role"
    worker = as_person(people["wendy"])
    assert (await worker.get("/api/v1/labs")).status_code == 403
    me = (await worker.get("/api/v1/me")).json()
    assert me == {"name": "wendy", "roles": ["worker"], "via": "token", "four_eyes": True}


async def test_the_actor_is_the_token_s_person_and_the_requester_cannot_approve(
    as_person: Any, people: dict[str, str], stack: Stack
) -> None:
    alice = as_person(people["alice"])
    created = await alice.post("/api/v1/labs", json=LAB)
    assert created.status_code == 201, created.text
    lab = created.json()
    assert lab["requested_by"] == "alice"  # not what the body said

    await eventually(
        lambda: alice.get(f"/api/v1/labs/{lab['id']}"),
        lambda r: r.json()["status"] == "awaiting_review",
        timeout=60,
    )
    review = {"decision": "approve", "reviewer": "bob", "comment": "lgtm"}
    own = await alice.post(f"/api/v1/labs/{lab['id']}/review", json=review)
    assert own.status_code == 403
    assert own.json()["detail"] == (
        "four-eyes: alice requested lab mine, so someone else must review it"
    )

    bob = as_person(people["bob"])
    forged = {**review, "reviewer": "alice"}
    answer = await bob.post(f"/api/v1/labs/{lab['id']}/review", json=forged)
    assert answer.status_code == 200, answer.text

    audit = (await bob.get("/api/v1/audit", params={"target_id": lab["id"]})).json()["items"]
    by_action = [(e["actor"], e["action"], e["outcome"]) for e in audit]
    assert ("alice", "review.approve", "refused") in by_action
    assert ("bob", "review.approve", "accepted") in by_action
    assert ("alice", "create", "accepted") in by_action
    accepted = next(e for e in audit if e["actor"] == "bob")
    assert accepted["details"]["via"] == "token" and accepted["details"]["authenticated"] is True


async def test_an_operator_cancels_but_may_not_approve(
    as_person: Any, people: dict[str, str]
) -> None:
    olga = as_person(people["olga"])
    lab = (await olga.post("/api/v1/labs", json={**LAB, "name": "ops"})).json()
    review = await olga.post(
        f"/api/v1/labs/{lab['id']}/review", json={"decision": "approve", "reviewer": "x"}
    )
    assert review.status_code == 403 and "needs the approver role" in review.json()["detail"]
    cancel = await olga.post(
        f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "not needed", "actor": "x"}
    )
    assert cancel.status_code == 200, cancel.text


async def test_a_revoked_or_unknown_token_is_refused(
    context: ApiContext, as_person: Any, people: dict[str, str]
) -> None:
    await TokenRepository(context.database).revoke("vic")
    revoked = await as_person(people["vic"]).get("/api/v1/labs")
    assert revoked.status_code == 401 and revoked.json()["detail"] == "invalid or revoked token"
    unknown = await as_person("fdt_nope").get("/api/v1/labs")
    assert unknown.status_code == 401
    shared_client = as_person(context.token)
    shared = (await shared_client.get("/api/v1/me")).json()
    assert shared["via"] == "shared" and shared["four_eyes"] is False
    created = (await shared_client.post("/api/v1/labs", json={**LAB, "name": "shared"})).json()
    assert created["requested_by"] == "someone-else"  # the shared token acts for the body's name
    [entry] = (
        await shared_client.get("/api/v1/audit", params={"target_id": created["id"]})
    ).json()["items"]
    assert entry["details"]["via"] == "shared" and entry["details"]["authenticated"] is False


async def test_an_oidc_token_names_its_person(context: ApiContext) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**public, "kid": "k1"}]}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=jwks))
    context.oidc = OidcVerifier(
        OidcConfig(jwks_url="https://idp.test/jwks", audience="flightdeck"), transport=transport
    )
    claims = {
        "aud": "flightdeck",
        "exp": int(time.time()) + 60,
        "preferred_username": "carol",
        "roles": "operator approver",
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    principal = await principal_for(context, token)
    assert principal.name == "carol" and principal.via == "oidc"
    assert principal.roles == [Role.OPERATOR, Role.APPROVER]
    with pytest.raises(Unauthenticated, match="Signature"):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        await principal_for(
            context, jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
        )
    await context.oidc.aclose()
