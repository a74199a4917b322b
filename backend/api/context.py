"""What the API's routes need, built once by the backend process (or a test)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from temporalio.client import Client

from backend.services.actions import ActionService
from backend.services.entities import EntityService, NeedsService
from backend.services.status import StoreStatusSink
from backend.store.audit import AuditRepository
from backend.store.database import Database


@dataclass
class ApiContext:
    """Services, repositories and the settings routes use."""

    client: Client
    database: Database
    entities: dict[str, EntityService]
    """One service per domain, by kind."""
    actions: ActionService
    needs: NeedsService
    audit: AuditRepository
    status: StoreStatusSink
    token: str
    namespace: str
    temporal_address: str
    temporal_ui: str | None = None
    started_at: float = field(default_factory=time.monotonic)
