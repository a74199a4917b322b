"""Health of the backend, as `GET /healthz` and `GET /readyz` report it, and the error bodies
every route documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    """Backend status and whether Temporal and the database answer."""

    status: Literal["ok"] = "ok"
    temporal: Literal["connected", "unreachable"]
    database: str | None = Field(
        default=None,
        description='"ok", or "unavailable: <reason>" (absent from backends older than the field)',
    )
    namespace: str
    temporal_address: str
    temporal_ui: str | None = None
    version: str


class Readiness(BaseModel):
    """Whether this backend can serve requests now: the database and Temporal both usable."""

    ready: bool
    database: str = Field(description='"ok", or "unavailable: <reason>"')
    temporal: Literal["connected", "unreachable"]


class ErrorBody(BaseModel):
    """Body of every 4xx/5xx answer: one readable message."""

    detail: str


class FieldError(BaseModel):
    """One problem with one field of a refused request."""

    loc: list[str]
    msg: str
    type: str | None = None


class ValidationErrorBody(ErrorBody):
    """Body of a 422: the readable line, plus the problems field by field."""

    errors: list[FieldError] = []
