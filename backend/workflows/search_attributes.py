"""Typed keys for Flightdeck's search attributes (names and types live in backend.domain)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from temporalio.common import SearchAttributeKey

from backend.domain import search_attributes as names

KIND = SearchAttributeKey.for_keyword(names.KIND)
ENTITY = SearchAttributeKey.for_keyword(names.ENTITY)
PHASE = SearchAttributeKey.for_keyword(names.PHASE)
PERCENT = SearchAttributeKey.for_int(names.PERCENT)
AWAITING = SearchAttributeKey.for_keyword(names.AWAITING)

ALL_KEYS = (KIND, ENTITY, PHASE, PERCENT, AWAITING)


_FACTORIES: dict[str, Callable[[str], SearchAttributeKey[Any]]] = {
    "Keyword": SearchAttributeKey.for_keyword,
    "Text": SearchAttributeKey.for_text,
    "Int": SearchAttributeKey.for_int,
    "Double": SearchAttributeKey.for_float,
    "Bool": SearchAttributeKey.for_bool,
    "Datetime": SearchAttributeKey.for_datetime,
    "KeywordList": SearchAttributeKey.for_keyword_list,
}


def keys_for(types: Mapping[str, str]) -> list[SearchAttributeKey[Any]]:
    """Typed keys for name → Temporal type pairs (as the catalog lists them)."""
    return [_FACTORIES[kind](name) for name, kind in types.items()]
