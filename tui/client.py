"""The TUI's only way to the backend: one typed async HTTP client of the Flightdeck API.

Generic over domains: every call takes the domain's `EntitySpec`, so a new domain needs no
client code (its list, get, create and action routes are all `/api/v1/{plural}/...`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from backend.domain.audit import ActionResult, AuditList
from backend.domain.entities import Entity, NeedsList
from backend.domain.entity import ActionSpec, EntitySpec
from backend.domain.form import field_with_role
from backend.domain.health import Health
from backend.domain.identity import Me
from backend.domains.placement.model import (
    Deployment,
    DeploymentView,
    HostRows,
    HostView,
    Page,
)
from backend.domains.tac.registrations import WorkerRows
from tui.errors import ApiError, BackendUnreachable, format_validation_errors, one_line
from tui.safe_text import defang, defang_text

__all__ = [
    "MAX_LIVE_IDS",
    "ApiError",
    "BackendUnreachable",
    "EntityPage",
    "FlightdeckClient",
    "new_idempotency_key",
    "with_idempotency_key",
]

MAX_LIVE_IDS = 50
"""The API answers exact progress for at most this many `live` ids per list call."""

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
"""Actions wait a few seconds for the workflow's verdict, so reads and writes get 10 s."""

ModelT = TypeVar("ModelT", bound=BaseModel)
BodyT = TypeVar("BodyT", bound=BaseModel)


class EntityPage(Protocol):
    """What `spec.list_model` holds, for the type checker: one page of entities and the total."""

    items: list[Entity]
    total: int


def new_idempotency_key() -> str:
    """A fresh key for one user action, so a retried request is not done twice."""
    return uuid.uuid4().hex


def with_idempotency_key(body: BodyT) -> BodyT:
    """`body` with a fresh idempotency key if its model has a key field that is still empty."""
    name = field_with_role(type(body), "idempotency_key")
    if name is None or getattr(body, name):
        return body
    return body.model_copy(update={name: new_idempotency_key()})


class FlightdeckClient:
    """Typed async client of the Flightdeck backend API; returns `backend.domain` models.

    Raises `ApiError` for 4xx / 5xx answers and `BackendUnreachable` when the backend does not
    answer; both carry one readable line in `message`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "flightdeck-tui"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )

    async def me(self) -> Me:
        """`GET /api/v1/me`: who the token stands for, with which roles."""
        return await self._request(Me, "GET", "/api/v1/me")

    async def health(self) -> Health:
        """`GET /healthz`: backend status and whether Temporal answers (needs no token)."""
        return await self._request(Health, "GET", "/healthz")

    async def list_entities(
        self,
        spec: EntitySpec,
        live: Sequence[str] = (),
        status: str | None = None,
        *,
        limit: int = 200,
        offset: int = 0,
    ) -> EntityPage:
        """`GET /api/v1/{plural}`: a page of entities, newest first; `live` ids carry progress."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        live_ids = list(dict.fromkeys(entity_id for entity_id in live if entity_id))
        if live_ids:
            params["live"] = ",".join(live_ids[:MAX_LIVE_IDS])
        page = await self._request(spec.list_model, "GET", f"/api/v1/{spec.plural}", params=params)
        return cast(EntityPage, page)

    async def get_entity(self, spec: EntitySpec, entity_id: str) -> Entity:
        """`GET /api/v1/{plural}/{id}`: one entity with its exact progress."""
        return await self._request(spec.record, "GET", f"/api/v1/{spec.plural}/{entity_id}")

    async def create_entity(self, spec: EntitySpec, body: BaseModel) -> Entity:
        """`POST /api/v1/{plural}`: record a new entity and start its workflow."""
        return await self._request(spec.record, "POST", f"/api/v1/{spec.plural}", body=body)

    async def act(
        self, spec: EntitySpec, action: ActionSpec, entity_id: str, body: BaseModel
    ) -> ActionResult:
        """`POST /api/v1/{plural}/{id}/{action}`: 409 (`ApiError`) when the workflow refuses.

        A body whose idempotency key is empty gets a fresh one; pass the same body again to
        resend the same action (the backend answers a repeated key with the first answer).
        """
        path = f"/api/v1/{spec.plural}/{entity_id}/{action.name}"
        return await self._request(ActionResult, "POST", path, body=with_idempotency_key(body))

    async def needs(self, limit: int = 200) -> NeedsList:
        """`GET /api/v1/needs`: everything waiting for a person, oldest first."""
        return await self._request(NeedsList, "GET", "/api/v1/needs", params={"limit": limit})

    async def audit(
        self,
        target_id: str | None = None,
        target_kind: str | None = None,
        *,
        limit: int = 100,
        before_id: int | None = None,
    ) -> AuditList:
        """`GET /api/v1/audit`: recorded actions, newest first, maybe for one target."""
        params: dict[str, str | int] = {"limit": limit}
        if target_id:
            params["target_id"] = target_id
        if target_kind:
            params["target_kind"] = target_kind
        if before_id is not None:
            params["before_id"] = before_id
        return await self._request(AuditList, "GET", "/api/v1/audit", params=params)

    async def workers(self, limit: int = 200, offset: int = 0) -> WorkerRows:
        """`GET /api/v1/workers`: TAC worker registrations, newest first, each with its worker
        DIG's state and the pollers on its task queue now."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        return await self._request(WorkerRows, "GET", "/api/v1/workers", params=params)

    async def hosts(self, limit: int = 200, offset: int = 0) -> HostRows:
        """`GET /api/v1/hosts`: hosts by name, each with its deployments and how many of them
        it runs, and how far the change processor has read the change log."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        return await self._request(HostRows, "GET", "/api/v1/hosts", params=params)

    async def host(self, name: str) -> HostView:
        """`GET /api/v1/hosts/{name}`: one host and every deployment assigned to it."""
        return await self._request(HostView, "GET", f"/api/v1/hosts/{quote(name, safe='')}")

    async def deployments(self, limit: int = 200, offset: int = 0) -> tuple[list[Deployment], int]:
        """`GET /api/v1/deployments`: a page of deployments by name, and how many there are."""
        path = "/api/v1/deployments"
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        page = await self._request(Page, "GET", path, params=params)
        try:
            items = [Deployment.model_validate(item) for item in page.items]
        except ValidationError as exc:
            detail = format_validation_errors(exc.errors(include_url=False))
            raise ApiError(200, f"unexpected answer from GET {path}: {detail}") from exc
        return items, page.total

    async def deployment(self, name: str) -> DeploymentView:
        """`GET /api/v1/deployments/{name}`: a deployment, the hosts it reaches and its state on
        each (committed, event sent, deployed)."""
        path = f"/api/v1/deployments/{quote(name, safe='')}"
        return await self._request(DeploymentView, "GET", path)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> FlightdeckClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _request(
        self,
        model: type[ModelT],
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: BaseModel | None = None,
    ) -> ModelT:
        content = body.model_dump_json(exclude_none=True) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise BackendUnreachable(f"backend at {self.base_url} timed out") from exc
        except httpx.TransportError as exc:
            reason = one_line(str(exc)) or type(exc).__name__
            raise BackendUnreachable(f"cannot reach backend at {self.base_url}: {reason}") from exc
        except httpx.HTTPError as exc:
            raise ApiError(0, one_line(f"{method} {path} failed: {exc}")) from exc
        if response.is_error:
            raise ApiError(response.status_code, error_message(response))
        try:
            return model.model_validate(defang(response.json()))
        except ValueError as exc:
            if not isinstance(exc, ValidationError):
                raise ApiError(
                    response.status_code, f"unexpected answer from {method} {path}: not JSON"
                ) from exc
            detail = format_validation_errors(exc.errors(include_url=False))
            raise ApiError(
                response.status_code, f"unexpected answer from {method} {path}: {detail}"
            ) from exc


def error_message(response: httpx.Response) -> str:
    """One readable line for an error answer: its `detail` (string or FastAPI's list form)."""
    detail: Any = None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail")
    if isinstance(detail, str) and detail.strip():
        message = one_line(detail)
    elif isinstance(detail, list) and detail:
        message = format_validation_errors(
            item if isinstance(item, dict) else {"msg": str(item)} for item in detail
        )
    elif detail:
        message = one_line(json.dumps(detail))
    else:
        text = one_line(response.text, limit=120) if body is None else ""
        phrase = response.reason_phrase or "error"
        message = f"HTTP {response.status_code} {phrase}" + (f": {text}" if text else "")
    if response.status_code == httpx.codes.UNAUTHORIZED:
        message = f"{message} (check the API token)"
    return defang_text(message)
