"""Health of the backend, as `GET /healthz` reports it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    """Backend status and whether Temporal answers."""

    status: Literal["ok"] = "ok"
    temporal: Literal["connected", "unreachable"]
    namespace: str
    temporal_address: str
    temporal_ui: str | None = None
    version: str


class ErrorBody(BaseModel):
    """Body of every 4xx/5xx answer: one readable message."""

    detail: str
