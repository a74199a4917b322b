"""Internal calls a domain's workers make to the store, by name (`StatusSink.call`).

A domain declares them in `backend/domains/<name>/calls.py` as `CALLS: dict[str, DomainCall]`:
lookups its workflows need (which DIG runs a task queue's worker) and records only the store
keeps (an audit warning). Workers in the API's process call them directly; workers elsewhere
through `POST /api/internal/v1/calls/{name}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from backend.domains import domain_modules
from backend.store.audit import AuditRepository
from backend.store.database import Database


@dataclass(frozen=True)
class CallContext:
    """What an internal call may use: the store and the audit log."""

    database: Database
    audit: AuditRepository


DomainCall = Callable[[CallContext, dict[str, Any]], Awaitable[BaseModel]]
"""Validates its body (a ValueError for a bad one) and answers with a model."""


@cache
def domain_calls() -> dict[str, DomainCall]:
    """Every domain's internal calls, by name."""
    calls: dict[str, DomainCall] = {}
    for module in domain_modules("calls"):
        calls.update(module.CALLS)
    return calls
