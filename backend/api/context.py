"""What the API's routes need, built once by the backend process (or a test)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from temporalio.client import Client

from backend.providers.oidc import OidcVerifier
from backend.services.actions import ActionService
from backend.services.entities import EntityService, NeedsService
from backend.services.status import StoreStatusSink
from backend.store.audit import AuditRepository
from backend.store.database import Database
from backend.store.tokens import TokenRepository


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
    oidc: OidcVerifier | None = None
    """Verifies OIDC bearer tokens when FLIGHTDECK_OIDC_* are set."""
    four_eyes: bool = True
    """Refuse approvals by whoever requested the entity (personal identities)."""

    @property
    def tokens(self) -> TokenRepository:
        """Personal API tokens."""
        return TokenRepository(self.database)
