"""What every screen needs from the app: the API client, who is at the keyboard, how often to
poll and the declared domains. The app makes one and hands it down."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.domain.entity import EntitySpec
from backend.domain.identity import Me
from backend.domains.placement.model import PROCESSOR_KIND
from tui.client import FlightdeckClient

NEEDS_VIEW = "needs"
AUDIT_VIEW = "audit"
WORKERS_VIEW = "workers"
"""TAC worker registrations with their pollers: listed after the DIGs (else the domains)."""
DIGS_PLURAL = "digs"
HOSTS_VIEW = "hosts"
DEPLOYMENTS_VIEW = "deployments"
PLACEMENT_VIEWS = (HOSTS_VIEW, DEPLOYMENTS_VIEW)
"""Hosts and deployments (the placement domain's records): listed just before its change
processors, when this TUI knows the placement domain."""


@dataclass
class Identity:
    """Who the API says we are (None until it answered, or when it predates identities)."""

    me: Me | None = None


@dataclass(frozen=True)
class Session:
    """The app's shared, read-only context."""

    client: FlightdeckClient
    user: str
    refresh_interval: float
    specs: tuple[EntitySpec, ...]
    identity: Identity = field(default_factory=Identity)

    def spec_for_kind(self, kind: str) -> EntitySpec | None:
        """The domain whose kind is `kind`, if this TUI knows it."""
        return next((s for s in self.specs if s.kind == kind), None)

    @property
    def view_names(self) -> list[str]:
        """Every view `:` can switch to, in the order completion offers them."""
        domains = [spec.plural for spec in self.specs]
        after = domains.index(DIGS_PLURAL) + 1 if DIGS_PLURAL in domains else len(domains)
        names = [NEEDS_VIEW, *domains[:after], WORKERS_VIEW, *domains[after:]]
        placement = self.spec_for_kind(PROCESSOR_KIND)
        if placement is not None:
            at = names.index(placement.plural)
            names[at:at] = PLACEMENT_VIEWS
        return [*names, AUDIT_VIEW]

    def resolve_view(self, typed: str) -> str | None:
        """The view a typed name means: exact, a domain's singular kind, or the first view it
        is the start of; None when nothing matches."""
        text = typed.strip().lower()
        if not text:
            return None
        names = self.view_names
        if text in names:
            return text
        for spec in self.specs:
            if text == spec.kind:
                return spec.plural
        return next((name for name in names if name.startswith(text)), None)
