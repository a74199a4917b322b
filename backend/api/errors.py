"""Every error answer is `{"detail": "<one readable line>"}` (422s also carry the field list),
and the OpenAPI schema says so (`error_responses`).

Storage trouble (SQLite busy past its timeout, disk I/O, a read-only or closed file) is a 503
with `Retry-After`, never a 500: the request was fine, the store could not take it now."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from backend.domain.health import ErrorBody, ValidationErrorBody
from backend.providers.status import EntityMissing
from backend.services.errors import ServiceError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
CLOSED_CONNECTION = "no active connection"
"""What aiosqlite raises (as ValueError) when the store's connection is closed."""

_DESCRIPTIONS = {
    400: "The request could not be read (a body that is not UTF-8 JSON, a wrong header)",
    401: "Missing or wrong bearer token",
    403: "The caller's role may not do this, or four-eyes: the requester may not approve",
    404: "No such entity (or route)",
    409: "Conflicts with the entity's current state",
    413: "Request body over 64 KiB",
    422: "Invalid parameters or body, field by field",
    503: "The store or Temporal is busy or unavailable; try again after `Retry-After` seconds",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error status codes, each with its body model."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model = ValidationErrorBody if code == 422 else ErrorBody
        responses[code] = {"model": model, "description": _DESCRIPTIONS[code]}
    if 503 in responses:
        responses[503]["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again (storage errors)",
                "schema": {"type": "integer"},
            }
        }
    return responses


API_ERRORS = error_responses(400, 401, 413, 422, 503)
"""What any token-protected route may answer besides its own errors."""


def validation_message(errors: list[Any]) -> str:
    """One line from pydantic/FastAPI validation errors: `field: problem; field: problem`."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        where = "body" if error.get("type") == "json_invalid" else ".".join(loc) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def storage_unavailable(exc: sqlite3.Error | ValueError) -> str:
    """The 503 message for a storage error: what SQLite said, short, and what to do."""
    reason = " ".join(str(exc).split())[:120] or type(exc).__name__
    return f"the store is busy or unavailable: {reason}; try again"


def _unavailable(exc: sqlite3.Error | ValueError) -> JSONResponse:
    return JSONResponse(
        {"detail": storage_unavailable(exc)},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map service, validation and storage errors to readable JSON answers."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.exception_handler(EntityMissing)
    async def _entity_missing(_: Request, exc: EntityMissing) -> JSONResponse:
        # A worker reported on an entity this store does not have (the status path).
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette names only the methods of the first route on the path; name them all.
            headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
            return JSONResponse({"detail": exc.detail}, status_code=405, headers=headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        return JSONResponse(
            {"detail": validation_message(errors), "errors": _jsonable(errors)}, status_code=422
        )

    @app.exception_handler(sqlite3.OperationalError)
    async def _storage(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        log.warning("storage error on %s %s: %s", request.method, request.url.path, exc)
        return _unavailable(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ValueError) and str(exc) == CLOSED_CONNECTION:
            # aiosqlite's word for a store whose connection is gone: unavailable, not a bug.
            log.warning("store connection closed on %s %s", request.method, request.url.path)
            return _unavailable(exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); see the backend log"},
            status_code=500,
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


def _jsonable(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": e.get("type"),
        }
        for e in errors
    ]
