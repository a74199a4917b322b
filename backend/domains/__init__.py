"""Every domain Flightdeck runs: one package each, declaring itself once.

A domain package holds `spec.py` (its `SPEC`: models, statuses, columns, actions; pure data the
API, store and TUI read), `registrar.py` (`new_registrar(context)`: its workflows and activities
for the worker), and its workflow, activities and providers. Adding a domain means writing its
package and adding its name below; no platform file changes.

Optional modules a domain may add: `routes.py` (`routers()`: API routes beyond the platform's,
e.g. a spec's own URLs), `calls.py` (`CALLS`: lookups and records its workers ask the store
for, over `StatusSink.call`) and `startup.py` (`on_api_start(context)`: work the API does once it
serves, e.g. making sure a long-lived workflow runs).
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

DOMAINS: tuple[str, ...] = ("labs", "tenants", "infra", "digs", "tac", "placement")
"""The domain packages under `backend.domains`, in the order their views are listed."""


def domain_modules(module: str) -> list[ModuleType]:
    """Every domain's optional `module` (e.g. `routes`: extra API routes, `calls`: internal
    calls workers make to the store), in DOMAINS order; domains without one are skipped."""
    found = []
    for name in DOMAINS:
        qualified = f"{__name__}.{name}.{module}"
        if importlib.util.find_spec(qualified) is not None:
            found.append(importlib.import_module(qualified))
    return found
