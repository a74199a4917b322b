"""Typed keys for Flightdeck's search attributes (names and types live in backend.domain)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

from backend.domain import search_attributes as names

KIND = SearchAttributeKey.for_keyword(names.KIND)
ENTITY = SearchAttributeKey.for_keyword(names.ENTITY)
PHASE = SearchAttributeKey.for_keyword(names.PHASE)
PERCENT = SearchAttributeKey.for_int(names.PERCENT)
AWAITING = SearchAttributeKey.for_keyword(names.AWAITING)

ALL_KEYS = (KIND, ENTITY, PHASE, PERCENT, AWAITING)
