"""Where workers send entity status: the `StatusSink` protocol and its HTTP adapter.

The API process applies reports to its store in process (`backend.services.status`); a worker
elsewhere sends them to the API's internal, token-protected endpoint with `ApiStatusSink`.
"""

from __future__ import annotations

import json
import os
import ssl
from typing import Any, Protocol

import httpx

from backend.domain.status import (
    ClaimRequest,
    ClaimResult,
    RegisterRequest,
    StatusAck,
    StatusReport,
)

STATUS_PATH = "/api/internal/v1/status"
CLAIM_PATH = "/api/internal/v1/claim"
REGISTER_PATH = "/api/internal/v1/register"
CALL_PATH = "/api/internal/v1/calls/{name}"


class EntityMissing(Exception):
    """The report names an entity the store does not have."""


class StatusUnavailable(Exception):
    """The store could not be reached; a retry may succeed."""


class StatusSink(Protocol):
    """Takes status reports and entity claims from workflows."""

    async def report(self, report: StatusReport) -> StatusAck:
        """Apply the report unless a newer one was applied; EntityMissing for unknown entities."""
        ...

    async def claim(self, request: ClaimRequest) -> ClaimResult:
        """Let a workflow own its entity (idempotent); EntityMissing for unknown entities."""
        ...

    async def register(self, request: RegisterRequest) -> ClaimResult:
        """Create the entity of a workflow started by another workflow, unless it exists
        (idempotent); refused when the id or the name belongs to another workflow."""
        ...

    async def call(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run a domain's internal call (a lookup, or a record the store keeps) by name;
        EntityMissing for an unknown name."""
        ...


class ApiStatusSink:
    """Sends reports to a Flightdeck API (`flightdeck worker --api URL --token-file F`)."""

    def __init__(
        self, base_url: str, token: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "flightdeck-worker"},
            timeout=httpx.Timeout(8.0, connect=3.0),
            transport=transport,
            trust_env=False,
            verify=_tls_trust(),
        )

    async def report(self, report: StatusReport) -> StatusAck:
        """POST the report to the API."""
        body = await self._post(STATUS_PATH, report.model_dump_json(), report.entity_id)
        return StatusAck.model_validate_json(body)

    async def claim(self, request: ClaimRequest) -> ClaimResult:
        """POST the claim to the API."""
        body = await self._post(CLAIM_PATH, request.model_dump_json(), request.entity_id)
        return ClaimResult.model_validate_json(body)

    async def register(self, request: RegisterRequest) -> ClaimResult:
        """POST the registration to the API."""
        body = await self._post(REGISTER_PATH, request.model_dump_json(), request.entity_id)
        return ClaimResult.model_validate_json(body)

    async def call(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST the call to the API."""
        content = await self._post(CALL_PATH.format(name=name), json.dumps(body), name)
        answer: dict[str, Any] = json.loads(content)
        return answer

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _post(self, path: str, content: str, entity_id: str) -> bytes:
        try:
            response = await self._http.post(
                path, content=content, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as err:
            raise StatusUnavailable(f"API at {self.base_url} unreachable: {err}") from err
        if response.status_code == httpx.codes.NOT_FOUND:
            raise EntityMissing(f"the API has no entity {entity_id}")
        if response.is_error:
            raise StatusUnavailable(
                f"API at {self.base_url} answered {response.status_code}: {response.text[:200]}"
            )
        return response.content


def _tls_trust() -> ssl.SSLContext:
    """The system's CAs, plus SSL_CERT_FILE when set (an API with a private CA's certificate);
    proxies from the environment are not used (trust_env is off), so this is read here."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    return ssl.create_default_context(cafile=cafile)
