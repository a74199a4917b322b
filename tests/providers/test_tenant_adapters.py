"""The tenant providers' real adapters: Keycloak and Auth0 and the webhook against respx, SMTP
against a tiny real SMTP server on 127.0.0.1, and the settings and factories that choose them."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from types import TracebackType

import httpx
import pytest
import respx

from backend.config import ConfigError
from backend.domains.tenants.model import TenantPlan, TenantRegion
from backend.domains.tenants.providers.auth0 import (
    Auth0IdentityProvider,
    RateLimited,
    organization_name,
)
from backend.domains.tenants.providers.config import (
    TenantProviderSettings,
    close_adapters,
    describe,
    identity_provider,
    load_tenant_provider_settings,
    notifier,
)
from backend.domains.tenants.providers.keycloak import (
    TENANT_ATTRIBUTE,
    KeycloakIdentityProvider,
    realm_name,
)
from backend.domains.tenants.providers.protocol import (
    Email,
    IdpOrganization,
    PermanentProviderError,
    ProviderError,
    TenantRef,
)
from backend.domains.tenants.providers.smtp import SmtpNotifier, message_id
from backend.domains.tenants.providers.webhook import WebhookNotifier

ACME = TenantRef(
    tenant_id="t-1",
    name="acme",
    plan=TenantPlan.STANDARD,
    region=TenantRegion.EU_WEST_1,
    admin_email="admin@acme.test",
)
GLOBEX = ACME.model_copy(update={"tenant_id": "t-2", "name": "globex"})


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


@pytest.fixture
def transport(router: respx.MockRouter) -> httpx.MockTransport:
    return httpx.MockTransport(router.async_handler)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def bearer(route: respx.Route, call: int = -1) -> str:
    return str(route.calls[call].request.headers["Authorization"])


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(err.value)
    assert text and "\n" not in text
    return text


# Keycloak ---------------------------------------------------------------------------------------

KC = "https://sso.test"
KC_TOKEN = f"{KC}/realms/master/protocol/openid-connect/token"
KC_REALMS = f"{KC}/admin/realms"
KC_ACME = f"{KC_REALMS}/tenant-acme"


def kc_token(token: str = "kc-1", expires_in: int = 300) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in})


def kc_realm(owner: str | None) -> httpx.Response:
    attributes = {TENANT_ATTRIBUTE: owner} if owner else {}
    return httpx.Response(
        200, json={"id": "uuid-1", "realm": "tenant-acme", "attributes": attributes}
    )


@pytest.fixture
async def keycloak(
    transport: httpx.MockTransport, clock: FakeClock
) -> AsyncIterator[KeycloakIdentityProvider]:
    idp = KeycloakIdentityProvider(
        KC + "/",
        client_id="flightdeck",
        client_secret="kc-secret",
        transport=transport,
        clock=clock,
    )
    yield idp
    await idp.aclose()


async def test_keycloak_creates_a_realm_per_tenant_with_one_cached_token(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    token = router.post(KC_TOKEN).mock(return_value=kc_token())
    create = router.post(KC_REALMS).mock(return_value=httpx.Response(201))

    org = await keycloak.create_organization(ACME)
    await keycloak.create_organization(GLOBEX)

    assert org == IdpOrganization(id="tenant-acme", name="tenant-acme", provider="keycloak")
    assert token.call_count == 1
    form = dict(httpx.QueryParams(token.calls[0].request.content.decode()))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "flightdeck",
        "client_secret": "kc-secret",
    }
    assert [bearer(create, i) for i in range(2)] == ["Bearer kc-1", "Bearer kc-1"]
    assert json.loads(create.calls[0].request.content) == {
        "realm": "tenant-acme",
        "enabled": True,
        "displayName": "acme",
        "attributes": {TENANT_ATTRIBUTE: "t-1"},
    }


async def test_keycloak_fetches_a_new_token_shortly_before_expiry(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter, clock: FakeClock
) -> None:
    token = router.post(KC_TOKEN).mock(side_effect=[kc_token("kc-1", 300), kc_token("kc-2", 300)])
    create = router.post(KC_REALMS).mock(return_value=httpx.Response(201))

    await keycloak.create_organization(ACME)
    clock.now += 260
    await keycloak.create_organization(ACME)
    assert token.call_count == 1
    clock.now += 15  # within the last 30 s of the token's 300 s
    await keycloak.create_organization(ACME)

    assert token.call_count == 2
    assert bearer(create) == "Bearer kc-2"


async def test_keycloak_create_of_an_existing_realm_of_this_tenant_returns_it(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.post(KC_REALMS).mock(
        return_value=httpx.Response(409, json={"errorMessage": "Realm tenant-acme already exists"})
    )
    router.get(KC_ACME).mock(return_value=kc_realm("t-1"))

    org = await keycloak.create_organization(ACME)

    assert org.name == "tenant-acme"


async def test_keycloak_refuses_to_adopt_a_realm_of_another_tenant(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.post(KC_REALMS).mock(return_value=httpx.Response(409))
    router.get(KC_ACME).mock(return_value=kc_realm("t-9"))

    with pytest.raises(PermanentProviderError) as err:
        await keycloak.create_organization(ACME)

    assert "belongs to tenant t-9" in one_line(err)


async def test_keycloak_deletes_the_tenants_realm(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.get(KC_ACME).mock(return_value=kc_realm("t-1"))
    delete = router.delete(KC_ACME).mock(return_value=httpx.Response(204))

    assert await keycloak.delete_organization(ACME)
    assert delete.call_count == 1


async def test_keycloak_delete_of_a_missing_realm_is_false(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.get(KC_ACME).mock(return_value=httpx.Response(404))
    delete = router.delete(KC_ACME).mock(return_value=httpx.Response(204))

    assert not await keycloak.delete_organization(ACME)
    assert delete.call_count == 0


async def test_keycloak_delete_never_removes_a_realm_of_another_tenant(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.get(KC_ACME).mock(return_value=kc_realm(None))
    delete = router.delete(KC_ACME).mock(return_value=httpx.Response(204))

    with pytest.raises(PermanentProviderError, match="no Flightdeck tenant"):
        await keycloak.delete_organization(ACME)
    assert delete.call_count == 0


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(503, text="upstream down"), httpx.ConnectTimeout("timed out")],
    ids=["503", "timeout"],
)
async def test_keycloak_server_errors_and_timeouts_are_retryable(
    keycloak: KeycloakIdentityProvider,
    router: respx.MockRouter,
    answer: httpx.Response | Exception,
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.post(KC_REALMS).mock(side_effect=[answer])

    with pytest.raises(ProviderError) as err:
        await keycloak.create_organization(ACME)

    assert "create realm tenant-acme" in one_line(err)


async def test_keycloak_client_errors_are_permanent_with_keycloaks_words(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.post(KC_REALMS).mock(
        return_value=httpx.Response(403, json={"error": "unknown_error\nforbidden"})
    )

    with pytest.raises(PermanentProviderError) as err:
        await keycloak.create_organization(ACME)

    text = one_line(err)
    assert "HTTP 403 (unknown_error forbidden)" in text
    assert "create-realm" in text


async def test_keycloak_401_refreshes_the_token_once(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    token = router.post(KC_TOKEN).mock(side_effect=[kc_token("kc-1"), kc_token("kc-2")])
    create = router.post(KC_REALMS).mock(side_effect=[httpx.Response(401), httpx.Response(201)])

    await keycloak.create_organization(ACME)

    assert token.call_count == 2
    assert [bearer(create, 0), bearer(create, 1)] == ["Bearer kc-1", "Bearer kc-2"]


async def test_keycloak_401_with_a_fresh_token_is_permanent(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    token = router.post(KC_TOKEN).mock(side_effect=[kc_token("kc-1"), kc_token("kc-2")])
    router.post(KC_REALMS).mock(return_value=httpx.Response(401))

    with pytest.raises(PermanentProviderError, match="fresh admin token"):
        await keycloak.create_organization(ACME)
    assert token.call_count == 2


async def test_keycloak_bad_client_credentials_are_permanent(
    keycloak: KeycloakIdentityProvider, router: respx.MockRouter
) -> None:
    router.post(KC_TOKEN).mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": "Invalid client credentials"}
        )
    )

    with pytest.raises(PermanentProviderError) as err:
        await keycloak.create_organization(ACME)

    text = one_line(err)
    assert "invalid_client: Invalid client credentials" in text
    assert "KEYCLOAK_CLIENT_SECRET" in text
    assert "kc-secret" not in text


def test_realm_names_use_only_safe_characters() -> None:
    odd = ACME.model_copy(update={"name": "Acme Corp/EU"})
    assert realm_name(odd) == "tenant-acme-corp-eu"
    assert realm_name(odd.model_copy(update={"name": "!!!"})) == "tenant-t-1"


# Auth0 ------------------------------------------------------------------------------------------

A0 = "https://acme.auth0.test"
A0_TOKEN = f"{A0}/oauth/token"
A0_ORGS = f"{A0}/api/v2/organizations"
A0_BY_NAME = f"{A0_ORGS}/name/tenant-acme"
A0_ORG = {"id": "org_1", "name": "tenant-acme", "metadata": {"tenant_id": "t-1"}}


def a0_token(token: str = "a0-1", expires_in: int = 86400) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in})


@pytest.fixture
async def auth0(
    transport: httpx.MockTransport, clock: FakeClock
) -> AsyncIterator[Auth0IdentityProvider]:
    idp = Auth0IdentityProvider(
        "acme.auth0.test",
        client_id="m2m",
        client_secret="a0-secret",
        transport=transport,
        clock=clock,
    )
    yield idp
    await idp.aclose()


async def test_auth0_creates_the_organization_with_one_cached_token(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    token = router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(side_effect=[httpx.Response(404), httpx.Response(200, json=A0_ORG)])
    create = router.post(A0_ORGS).mock(return_value=httpx.Response(201, json=A0_ORG))

    org = await auth0.create_organization(ACME)
    again = await auth0.create_organization(ACME)

    assert org == again == IdpOrganization(id="org_1", name="tenant-acme", provider="auth0")
    assert token.call_count == 1
    assert json.loads(token.calls[0].request.content) == {
        "grant_type": "client_credentials",
        "client_id": "m2m",
        "client_secret": "a0-secret",
        "audience": f"{A0}/api/v2/",
    }
    assert create.call_count == 1
    assert bearer(create) == "Bearer a0-1"
    assert json.loads(create.calls[0].request.content) == {
        "name": "tenant-acme",
        "display_name": "acme",
        "metadata": {"tenant_id": "t-1"},
    }


async def test_auth0_create_after_a_concurrent_create_returns_the_organization(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(side_effect=[httpx.Response(404), httpx.Response(200, json=A0_ORG)])
    router.post(A0_ORGS).mock(return_value=httpx.Response(409, json={"message": "exists"}))

    org = await auth0.create_organization(ACME)

    assert org.id == "org_1"


async def test_auth0_refuses_an_organization_of_another_tenant(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    other = {**A0_ORG, "metadata": {"tenant_id": "t-9"}}
    router.get(A0_BY_NAME).mock(return_value=httpx.Response(200, json=other))
    delete = router.delete(f"{A0_ORGS}/org_1").mock(return_value=httpx.Response(204))

    with pytest.raises(PermanentProviderError, match="belongs to tenant t-9"):
        await auth0.create_organization(ACME)
    with pytest.raises(PermanentProviderError, match="belongs to tenant t-9"):
        await auth0.delete_organization(ACME)
    assert delete.call_count == 0


async def test_auth0_deletes_the_organization(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(return_value=httpx.Response(200, json=A0_ORG))
    delete = router.delete(f"{A0_ORGS}/org_1").mock(return_value=httpx.Response(204))

    assert await auth0.delete_organization(ACME)
    assert bearer(delete) == "Bearer a0-1"


async def test_auth0_delete_of_a_missing_organization_is_false(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(return_value=httpx.Response(404))

    assert not await auth0.delete_organization(ACME)


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(502), httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow")],
    ids=["502", "connect", "timeout"],
)
async def test_auth0_server_errors_and_timeouts_are_retryable(
    auth0: Auth0IdentityProvider, router: respx.MockRouter, answer: httpx.Response | Exception
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(side_effect=[answer])

    with pytest.raises(ProviderError) as err:
        await auth0.create_organization(ACME)

    assert "create organization tenant-acme" in one_line(err)


async def test_auth0_429_is_retryable_and_carries_retry_after(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow"})
    )

    with pytest.raises(RateLimited) as err:
        await auth0.create_organization(ACME)

    assert isinstance(err.value, ProviderError)
    assert err.value.retry_after == 7
    assert one_line(err).endswith("HTTP 429 (slow); retry after 7 s")


@pytest.mark.parametrize("status", [400, 403, 422])
async def test_auth0_client_errors_are_permanent_with_auth0s_message(
    auth0: Auth0IdentityProvider, router: respx.MockRouter, status: int
) -> None:
    router.post(A0_TOKEN).mock(return_value=a0_token())
    router.get(A0_BY_NAME).mock(return_value=httpx.Response(404))
    router.post(A0_ORGS).mock(
        return_value=httpx.Response(
            status, json={"statusCode": status, "message": "Payload validation error:\n bad"}
        )
    )

    with pytest.raises(PermanentProviderError) as err:
        await auth0.create_organization(ACME)

    assert f"HTTP {status} (Payload validation error: bad)" in one_line(err)


async def test_auth0_401_refreshes_the_token_once(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    token = router.post(A0_TOKEN).mock(side_effect=[a0_token("a0-1"), a0_token("a0-2")])
    find = router.get(A0_BY_NAME).mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json=A0_ORG)]
    )

    await auth0.create_organization(ACME)

    assert token.call_count == 2
    assert [bearer(find, 0), bearer(find, 1)] == ["Bearer a0-1", "Bearer a0-2"]


async def test_auth0_refused_credentials_are_permanent(
    auth0: Auth0IdentityProvider, router: respx.MockRouter
) -> None:
    router.post(A0_TOKEN).mock(
        return_value=httpx.Response(
            403, json={"error": "access_denied", "error_description": "Unauthorized"}
        )
    )

    with pytest.raises(PermanentProviderError) as err:
        await auth0.delete_organization(ACME)

    assert "AUTH0_CLIENT_SECRET" in one_line(err)


def test_auth0_organization_names_fit_auth0s_limit() -> None:
    long = ACME.model_copy(update={"name": "a" * 40 + "-" + "b" * 22})
    name = organization_name(long)
    assert len(name) <= 50
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert name == organization_name(long)
    assert name != organization_name(long.model_copy(update={"name": "a" * 40 + "-" + "c" * 22}))


# Webhook ----------------------------------------------------------------------------------------

HOOK = "https://hooks.test/services/s3cr3t-path"
WELCOME = Email(key="wf-1:welcome", to=["admin@acme.test"], subject="Welcome", body="Hi.\n")


@pytest.fixture
async def webhook(transport: httpx.MockTransport) -> AsyncIterator[WebhookNotifier]:
    hook = WebhookNotifier(HOOK, transport=transport)
    yield hook
    await hook.aclose()


async def test_webhook_posts_the_email_with_its_idempotency_key(
    webhook: WebhookNotifier, router: respx.MockRouter
) -> None:
    post = router.post(HOOK).mock(
        side_effect=[httpx.Response(202, json={"id": "msg-9"}), httpx.Response(204)]
    )

    assert await webhook.send(WELCOME) == "msg-9"
    assert await webhook.send(WELCOME) == "wf-1:welcome"

    request = post.calls[0].request
    assert request.headers["Idempotency-Key"] == "wf-1:welcome"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "key": "wf-1:welcome",
        "to": ["admin@acme.test"],
        "subject": "Welcome",
        "body": "Hi.\n",
    }


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(500, text="oops"), ProviderError),
        (httpx.ReadTimeout("slow"), ProviderError),
        (httpx.ConnectError("refused"), ProviderError),
        (httpx.Response(400, text="bad\nrequest"), PermanentProviderError),
        (httpx.Response(404), PermanentProviderError),
    ],
    ids=["500", "timeout", "connect", "400", "404"],
)
async def test_webhook_failures_are_retryable_or_permanent(
    webhook: WebhookNotifier,
    router: respx.MockRouter,
    answer: httpx.Response | Exception,
    error: type[Exception],
) -> None:
    router.post(HOOK).mock(side_effect=[answer])

    with pytest.raises(error) as err:
        await webhook.send(WELCOME)

    text = one_line(err)
    assert "hooks.test" in text
    assert "s3cr3t" not in text


# SMTP -------------------------------------------------------------------------------------------


@dataclass
class Received:
    """One message the tiny server accepted."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes


@dataclass
class TinySmtpServer:
    """Just enough ESMTP on 127.0.0.1 to take a message: EHLO/HELO, AUTH PLAIN, MAIL, RCPT,
    DATA, RSET, QUIT. `refuse` maps a recipient to the reply RCPT gets."""

    refuse: dict[str, str] = field(default_factory=dict)
    login: tuple[str, str] | None = None
    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    port: int = 0

    async def __aenter__(self) -> TinySmtpServer:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(*lines: str) -> None:
            writer.write(b"".join(line.encode() + b"\r\n" for line in lines))

        reply("220 tiny ESMTP")
        sender = ""
        recipients: list[str] = []
        try:
            while raw := await reader.readline():
                line = raw.decode().rstrip("\r\n")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    auth = ["250-AUTH PLAIN"] if self.login else []
                    reply("250-tiny", *auth, "250 8BITMIME")
                elif verb == "HELO":
                    reply("250 tiny")
                elif verb == "AUTH":
                    user, password = base64.b64decode(arg.split()[1]).split(b"\0")[1:]
                    self.logins.append(user.decode())
                    ok = (user.decode(), password.decode()) == self.login
                    reply("235 2.7.0 ok" if ok else "535 5.7.8 bad credentials")
                elif verb == "MAIL":
                    sender, recipients = _address(arg), []
                    reply("250 ok")
                elif verb == "RCPT":
                    recipient = _address(arg)
                    if recipient in self.refuse:
                        reply(self.refuse[recipient])
                    else:
                        recipients.append(recipient)
                        reply("250 ok")
                elif verb == "DATA":
                    reply("354 go ahead")
                    await writer.drain()
                    data = bytearray()
                    while (chunk := await reader.readline()) != b".\r\n":
                        if not chunk:
                            return
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    self.messages.append(Received(sender, recipients, bytes(data)))
                    reply("250 queued")
                elif verb == "RSET":
                    sender, recipients = "", []
                    reply("250 ok")
                elif verb == "QUIT":
                    reply("221 bye")
                    await writer.drain()
                    break
                else:
                    reply("502 not implemented")
                await writer.drain()
        except ConnectionError:
            pass  # the client hung up mid-session
        finally:
            writer.close()


def _address(arg: str) -> str:
    found = re.search(r"<([^>]*)>", arg)
    return found.group(1) if found else ""


@pytest.fixture
async def smtp_server() -> AsyncIterator[TinySmtpServer]:
    async with TinySmtpServer(refuse={"gone@acme.test": "550 5.1.1 no such user"}) as server:
        yield server


def smtp_notifier(port: int, **options: object) -> SmtpNotifier:
    settings: dict[str, object] = {
        "port": port,
        "sender": "Flightdeck <noreply@flightdeck.test>",
        "starttls": False,
        "timeout": 3.0,
        "local_hostname": "localhost",
    }
    return SmtpNotifier("127.0.0.1", **{**settings, **options})  # type: ignore[arg-type]


# The tiny server runs on this test's event loop: a send that blocked the loop would hang here.


async def test_smtp_delivers_with_a_message_id_derived_from_the_key(
    smtp_server: TinySmtpServer,
) -> None:
    mail = smtp_notifier(smtp_server.port)
    email = WELCOME.model_copy(update={"to": ["admin@acme.test", "ops@acme.test"]})

    first = await mail.send(email)
    resend = await mail.send(email)

    assert first == resend == message_id("wf-1:welcome", "noreply@flightdeck.test")
    assert first.endswith("@flightdeck.test>")
    received = smtp_server.messages[0]
    assert received.mail_from == "noreply@flightdeck.test"
    assert received.rcpt_to == ["admin@acme.test", "ops@acme.test"]
    text = received.data.decode()
    assert f"Message-ID: {first}\r\n" in text
    assert "From: Flightdeck <noreply@flightdeck.test>\r\n" in text
    assert "To: admin@acme.test, ops@acme.test\r\n" in text
    assert "Subject: Welcome\r\n" in text
    assert text.endswith("\r\n\r\nHi.\r\n")
    assert len(smtp_server.messages) == 2


async def test_smtp_sends_non_ascii_text_as_mime(smtp_server: TinySmtpServer) -> None:
    email = WELCOME.model_copy(update={"subject": "Willkommen ✈", "body": "Grüße\n.\n"})

    await smtp_notifier(smtp_server.port).send(email)

    received = message_from_bytes(smtp_server.messages[0].data, policy=default_policy)
    assert received["Subject"] == "Willkommen ✈"
    assert isinstance(received, EmailMessage)
    assert received.get_content().replace("\r\n", "\n") == "Grüße\n.\n"


async def test_smtp_logs_in_when_a_username_is_set() -> None:
    async with TinySmtpServer(login=("robot", "pw")) as server:
        await smtp_notifier(server.port, username="robot", password="pw").send(WELCOME)
        with pytest.raises(PermanentProviderError) as err:
            await smtp_notifier(server.port, username="robot", password="nope").send(WELCOME)

    assert server.logins == ["robot", "robot"]
    assert len(server.messages) == 1
    text = one_line(err)
    assert "535" in text
    assert "FLIGHTDECK_SMTP_PASSWORD" in text
    assert "nope" not in text


async def test_smtp_bad_recipient_is_permanent_and_sends_nothing(
    smtp_server: TinySmtpServer,
) -> None:
    email = WELCOME.model_copy(update={"to": ["admin@acme.test", "gone@acme.test"]})

    with pytest.raises(PermanentProviderError) as err:
        await smtp_notifier(smtp_server.port).send(email)

    assert "refused recipient gone@acme.test: 550 5.1.1 no such user" in one_line(err)
    assert smtp_server.messages == []


async def test_smtp_temporary_refusal_is_retryable() -> None:
    async with TinySmtpServer(refuse={"admin@acme.test": "451 4.3.0 try later"}) as server:
        with pytest.raises(ProviderError, match=r"451 4\.3\.0 try later"):
            await smtp_notifier(server.port).send(WELCOME)


async def test_smtp_server_gone_is_retryable() -> None:
    async with TinySmtpServer() as server:
        port = server.port

    with pytest.raises(ProviderError) as err:
        await smtp_notifier(port).send(WELCOME)

    assert f"127.0.0.1:{port} unreachable" in one_line(err)


async def test_smtp_starttls_without_server_support_is_permanent(
    smtp_server: TinySmtpServer,
) -> None:
    with pytest.raises(PermanentProviderError) as err:
        await smtp_notifier(smtp_server.port, starttls=True).send(WELCOME)

    assert "FLIGHTDECK_SMTP_STARTTLS=false" in one_line(err)
    assert smtp_server.messages == []


async def test_smtp_header_injection_is_refused_before_connecting() -> None:
    email = WELCOME.model_copy(update={"subject": "Hi\r\nBcc: everyone@example.com"})

    with pytest.raises(PermanentProviderError, match="cannot be composed"):
        await smtp_notifier(1).send(email)


# Settings and factories -------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The environment without any of the tenant provider variables."""
    for name in TenantProviderSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    yield monkeypatch


def test_defaults_are_the_sandbox(env: pytest.MonkeyPatch) -> None:
    env.setenv("KEYCLOAK_URL", "")  # empty is unset
    config = load_tenant_provider_settings()

    assert (config.keycloak_realm, config.flightdeck_smtp_port) == ("master", 587)
    assert config.flightdeck_smtp_starttls
    assert describe(config) == ["tenant identity provider: sandbox", "tenant notifier: sandbox"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"AUTH0_ENABLED": "true", "AUTH0_DOMAIN": "acme.auth0.com"},
            "invalid tenant provider settings: AUTH0_ENABLED is set but AUTH0_CLIENT_ID,"
            " AUTH0_CLIENT_SECRET are missing",
        ),
        (
            {"KEYCLOAK_ENABLED": "1", "KEYCLOAK_CLIENT_ID": "c", "KEYCLOAK_CLIENT_SECRET": "s"},
            "invalid tenant provider settings: KEYCLOAK_ENABLED is set but KEYCLOAK_URL is missing",
        ),
        (
            {"AUTH0_ENABLED": "true", "KEYCLOAK_ENABLED": "true"},
            "invalid tenant provider settings: AUTH0_ENABLED and KEYCLOAK_ENABLED are both set;"
            " enable one identity provider",
        ),
        (
            {"KEYCLOAK_URL": "sso.example.com"},
            "invalid setting KEYCLOAK_URL: expected an http:// or https:// URL",
        ),
        (
            {"FLIGHTDECK_SMTP_HOST": "smtp.example.com"},
            "invalid tenant provider settings: FLIGHTDECK_SMTP_HOST is set but"
            " FLIGHTDECK_SMTP_FROM is missing",
        ),
        (
            {"FLIGHTDECK_SMTP_HOST": "smtp.example.com:25"},
            "invalid setting FLIGHTDECK_SMTP_HOST: expected a host name only"
            " (the port is FLIGHTDECK_SMTP_PORT)",
        ),
        (
            {"FLIGHTDECK_SMTP_PORT": "70000"},
            "invalid setting FLIGHTDECK_SMTP_PORT: Input should be less than or equal to 65535",
        ),
        (
            {"FLIGHTDECK_SMTP_PASSWORD": "hunter2"},
            "invalid tenant provider settings: FLIGHTDECK_SMTP_PASSWORD is set but"
            " FLIGHTDECK_SMTP_USERNAME is missing",
        ),
    ],
    ids=[
        "auth0-missing",
        "keycloak-missing",
        "both",
        "url",
        "smtp-from",
        "smtp-host",
        "port",
        "password",
    ],
)
def test_bad_settings_are_one_readable_line(
    env: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)

    with pytest.raises(ConfigError) as err:
        load_tenant_provider_settings()

    assert one_line(err) == message


def test_secrets_stay_out_of_repr_and_describe() -> None:
    config = TenantProviderSettings(
        keycloak_enabled=True,
        keycloak_url="https://admin:pw@sso.example.com/auth/",
        keycloak_client_id="flightdeck",
        keycloak_client_secret="kc-secret",
        flightdeck_smtp_host="smtp.example.com",
        flightdeck_smtp_username="robot",
        flightdeck_smtp_password="hunter2",
        flightdeck_smtp_from="noreply@example.com",
        flightdeck_notify_webhook_url="https://hooks.example.com/s3cr3t",
    )

    lines = describe(config)

    assert lines == [
        "tenant identity provider: keycloak at https://sso.example.com (admin realm master)",
        "tenant notifier: smtp via smtp.example.com:587 (STARTTLS, login);"
        " FLIGHTDECK_NOTIFY_WEBHOOK_URL ignored (SMTP preferred)",
    ]
    assert "kc-secret" not in repr(config)
    assert "hunter2" not in repr(config)
    for secret in ("kc-secret", "hunter2", "s3cr3t", "pw@"):
        assert all(secret not in line for line in lines)


class SandboxIdp:
    """Stands in for the sandbox identity provider."""

    async def create_organization(self, tenant: TenantRef) -> IdpOrganization:
        return IdpOrganization(id="sandbox", name=tenant.name, provider="sandbox")

    async def delete_organization(self, tenant: TenantRef) -> bool:
        return False


class SandboxMail:
    """Stands in for the sandbox notifier."""

    async def send(self, email: Email) -> str:
        return email.key


async def test_factories_fall_back_to_the_sandbox() -> None:
    config = TenantProviderSettings()
    idp, mail = SandboxIdp(), SandboxMail()

    assert identity_provider(config, sandbox=idp) is idp
    assert notifier(config, sandbox=mail) is mail
    await close_adapters(idp, mail)


async def test_factories_choose_keycloak_and_smtp_and_wire_the_transport(
    router: respx.MockRouter, transport: httpx.MockTransport
) -> None:
    config = TenantProviderSettings(
        keycloak_enabled=True,
        keycloak_url=KC,
        keycloak_client_id="flightdeck",
        keycloak_client_secret="kc-secret",
        flightdeck_smtp_host="smtp.example.com",
        flightdeck_smtp_from="noreply@example.com",
        flightdeck_notify_webhook_url=HOOK,
    )
    router.post(KC_TOKEN).mock(return_value=kc_token())
    router.post(KC_REALMS).mock(return_value=httpx.Response(201))

    idp = identity_provider(config, sandbox=SandboxIdp(), transport=transport)
    mail = notifier(config, sandbox=SandboxMail(), transport=transport)

    assert isinstance(idp, KeycloakIdentityProvider)
    assert (await idp.create_organization(ACME)).provider == "keycloak"
    assert isinstance(mail, SmtpNotifier)
    assert (mail.host, mail.port, mail.starttls) == ("smtp.example.com", 587, True)
    await close_adapters(idp, mail)


async def test_factories_choose_auth0_and_the_webhook(
    router: respx.MockRouter, transport: httpx.MockTransport
) -> None:
    config = TenantProviderSettings(
        auth0_enabled=True,
        auth0_domain="https://acme.auth0.test/",
        auth0_client_id="m2m",
        auth0_client_secret="a0-secret",
        flightdeck_notify_webhook_url=HOOK,
    )
    router.post(HOOK).mock(return_value=httpx.Response(200))

    idp = identity_provider(config, sandbox=SandboxIdp(), transport=transport)
    mail = notifier(config, sandbox=SandboxMail(), transport=transport)

    assert isinstance(idp, Auth0IdentityProvider)
    assert idp.domain == "acme.auth0.test"
    assert isinstance(mail, WebhookNotifier)
    assert await mail.send(WELCOME) == "wf-1:welcome"
    assert describe(config) == [
        "tenant identity provider: auth0 at acme.auth0.test",
        "tenant notifier: webhook at https://hooks.test",
    ]
    await close_adapters(idp, mail)
