"""Names and types of the search attributes Flightdeck workflows upsert (visibility)."""

from __future__ import annotations

KIND = "FlightdeckKind"
ENTITY = "FlightdeckEntity"
PHASE = "FlightdeckPhase"
PERCENT = "FlightdeckPercent"
AWAITING = "FlightdeckAwaiting"

SEARCH_ATTRIBUTE_TYPES: dict[str, str] = {
    KIND: "Keyword",
    ENTITY: "Keyword",
    PHASE: "Keyword",
    PERCENT: "Int",
    AWAITING: "Keyword",
}
"""Name → Temporal type, as `temporal server start-dev --search-attribute NAME=Type` takes them."""
