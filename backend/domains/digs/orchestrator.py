"""The `Orchestrator` protocol: what does a DIG's lifecycle work (EMCO, or the local sandbox).

Every method is idempotent, keyed by the DIG: instantiating an instantiated DIG changes nothing,
terminating a terminated one neither, so an activity retried after a worker died is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from backend.domains.digs.model import AppState, DigApp, DigRef, OrchestratorStatus

ProgressCallback = Callable[[list[AppState]], None]
"""Called with every app's state as instantiate / terminate move (the activity heartbeats it)."""


class OrchestratorError(Exception):
    """The orchestrator could not do it now (unreachable, 5xx); a retry may succeed."""


class OrchestratorRefused(Exception):
    """The orchestrator refused (4xx: unknown DIG, invalid state, bad request); final."""


class Orchestrator(Protocol):
    """Deploys a DIG's apps and reports their state."""

    name: str
    """`sandbox` or `emco`: shown on the DIG."""

    async def create(self, dig: DigRef, apps: Sequence[DigApp], description: str) -> None:
        """Make the DIG known to the orchestrator (idempotent)."""
        ...

    async def approve(self, dig: DigRef) -> None:
        """Approve the DIG (EMCO freezes it)."""
        ...

    async def instantiate(
        self, dig: DigRef, apps: Sequence[DigApp], progress: ProgressCallback
    ) -> list[AppState]:
        """Deploy every app; returns their states once the orchestrator took them all (the
        apps may not be ready yet: see `status`)."""
        ...

    async def status(self, dig: DigRef, apps: Sequence[DigApp]) -> OrchestratorStatus:
        """The DIG's lifecycle state, deployment progress, readiness and per-app states."""
        ...

    async def terminate(
        self, dig: DigRef, apps: Sequence[DigApp], progress: ProgressCallback
    ) -> list[AppState]:
        """Remove every app (a worker app's process is stopped); idempotent."""
        ...

    async def delete(self, dig: DigRef) -> None:
        """Forget the DIG (after terminate, or never instantiated); idempotent."""
        ...

    async def aclose(self) -> None:
        """Release connections and the like."""
        ...
