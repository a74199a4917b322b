"""The declared domains: every `EntitySpec`, by kind and by view name (the API path segment)."""

from __future__ import annotations

import importlib
from functools import cache

from backend.domain.entity import EntitySpec
from backend.domain.search_attributes import SEARCH_ATTRIBUTE_TYPES
from backend.domains import DOMAINS


@cache
def all_specs() -> tuple[EntitySpec, ...]:
    """Every domain's declaration, in the order of `backend.domains.DOMAINS`."""
    specs = []
    for name in DOMAINS:
        module = importlib.import_module(f"backend.domains.{name}.spec")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, EntitySpec):
            raise TypeError(f"backend.domains.{name}.spec must define SPEC = EntitySpec(...)")
        specs.append(spec)
    kinds = [s.kind for s in specs]
    plurals = [s.plural for s in specs]
    if len(set(kinds)) != len(kinds) or len(set(plurals)) != len(plurals):
        raise ValueError(f"domain kinds or plurals repeat: {kinds} / {plurals}")
    return tuple(specs)


def spec_for_kind(kind: str) -> EntitySpec | None:
    """The domain whose kind is `kind` (`lab`), if any."""
    return next((s for s in all_specs() if s.kind == kind), None)


def spec_for_plural(plural: str) -> EntitySpec | None:
    """The domain whose view / API path is `plural` (`labs`), if any."""
    return next((s for s in all_specs() if s.plural == plural), None)


def fault_steps() -> dict[str, str]:
    """Every FLIGHTDECK_FAIL step name → the kind it belongs to."""
    return {step: spec.kind for spec in all_specs() for step in spec.fault_steps}


def search_attribute_types() -> dict[str, str]:
    """Every search attribute a Flightdeck namespace needs: the platform's and each domain's."""
    types = dict(SEARCH_ATTRIBUTE_TYPES)
    for spec in all_specs():
        for name, kind in spec.search_attributes.items():
            if types.setdefault(name, kind) != kind:
                raise ValueError(f"search attribute {name} is declared as {types[name]} and {kind}")
    return types
