"""Notifications as a JSON POST to a webhook, keyed so the receiver can drop a resend."""

from __future__ import annotations

import httpx

from backend.domains.tenants.providers.protocol import (
    Email,
    Notifier,
    PermanentProviderError,
    ProviderError,
)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "flightdeck-worker"


class WebhookNotifier(Notifier):
    """POSTs each e-mail as JSON with an `Idempotency-Key` header (the e-mail's key)."""

    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        # Webhook URLs often carry a secret in their path: messages name the host only.
        self._where = httpx.URL(url).host or "the notification webhook"
        self._http = httpx.AsyncClient(
            timeout=TIMEOUT,
            transport=transport,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def send(self, email: Email) -> str:
        """POST the e-mail; the receiver's `id` (or `message_id`) if it sends one, else the key."""
        body = {"key": email.key, "to": email.to, "subject": email.subject, "body": email.body}
        try:
            response = await self._http.post(
                self.url, json=body, headers={"Idempotency-Key": email.key}
            )
        except httpx.HTTPError as err:
            why = str(err) or type(err).__name__
            raise ProviderError(
                f"notification webhook at {self._where} unreachable: {why}"
            ) from err
        status = response.status_code
        if response.is_success:
            return _message_id(response) or email.key
        message = f"notification webhook at {self._where} answered HTTP {status}{_detail(response)}"
        if status >= 500 or status in (httpx.codes.REQUEST_TIMEOUT, httpx.codes.TOO_MANY_REQUESTS):
            raise ProviderError(message)
        if response.is_redirect:
            message += "; set FLIGHTDECK_NOTIFY_WEBHOOK_URL to the final URL"
        raise PermanentProviderError(message)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def _message_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("id", "message_id"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _detail(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f" ({text})" if text else ""
