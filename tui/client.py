"""The TUI's only way to the backend: one typed async HTTP client of the Flightdeck API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from backend.domain.audit import ActionResult, AuditList
from backend.domain.health import Health
from backend.domain.labs import CancelLab, CreateLab, Lab, LabList, LabStatus, ReviewLab
from tui.errors import ApiError, BackendUnreachable, format_validation_errors, one_line

__all__ = [
    "MAX_LIVE_IDS",
    "ApiError",
    "BackendUnreachable",
    "FlightdeckClient",
    "new_idempotency_key",
]

MAX_LIVE_IDS = 50
"""The API answers exact progress for at most this many `live` ids per list call."""

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)

ModelT = TypeVar("ModelT", bound=BaseModel)


def new_idempotency_key() -> str:
    """A fresh key for one user action, so a retried request is not done twice."""
    return uuid.uuid4().hex


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

    async def health(self) -> Health:
        """`GET /healthz`: backend status and whether Temporal answers."""
        return await self._request(Health, "GET", "/healthz")

    async def list_labs(
        self,
        live: Sequence[str] = (),
        status: LabStatus | None = None,
        *,
        limit: int = 200,
        offset: int = 0,
    ) -> LabList:
        """`GET /api/v1/labs`: every lab with its visibility summary, `live` ones with progress."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status.value
        live_ids = list(dict.fromkeys(lab_id for lab_id in live if lab_id))[:MAX_LIVE_IDS]
        if live_ids:
            params["live"] = ",".join(live_ids)
        return await self._request(LabList, "GET", "/api/v1/labs", params=params)

    async def get_lab(self, lab_id: str) -> Lab:
        """`GET /api/v1/labs/{id}`: one lab with its exact progress."""
        return await self._request(Lab, "GET", f"/api/v1/labs/{lab_id}")

    async def create_lab(self, request: CreateLab) -> Lab:
        """`POST /api/v1/labs`: start provisioning a new lab."""
        return await self._request(Lab, "POST", "/api/v1/labs", body=request)

    async def review_lab(self, lab_id: str, request: ReviewLab) -> ActionResult:
        """`POST /api/v1/labs/{id}/review`: approve or request changes; 409 if not awaiting review."""
        if request.idempotency_key is None:
            request = request.model_copy(update={"idempotency_key": new_idempotency_key()})
        return await self._request(
            ActionResult, "POST", f"/api/v1/labs/{lab_id}/review", body=request
        )

    async def cancel_lab(self, lab_id: str, request: CancelLab) -> ActionResult:
        """`POST /api/v1/labs/{id}/cancel`: tear the lab down; 409 if it has already ended."""
        if request.idempotency_key is None:
            request = request.model_copy(update={"idempotency_key": new_idempotency_key()})
        return await self._request(
            ActionResult, "POST", f"/api/v1/labs/{lab_id}/cancel", body=request
        )

    async def audit(self, limit: int = 100) -> AuditList:
        """`GET /api/v1/audit`: the most recent human actions."""
        return await self._request(AuditList, "GET", "/api/v1/audit", params={"limit": limit})

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
            return model.model_validate_json(response.content)
        except ValidationError as exc:
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
    return message
