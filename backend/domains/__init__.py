"""Every domain Flightdeck runs: one package each, declaring itself once.

A domain package holds `spec.py` (its `SPEC`: models, statuses, columns, actions; pure data the
API, store and TUI read), `registrar.py` (`new_registrar(context)`: its workflows and activities
for the worker), and its workflow, activities and providers. Adding a domain means writing its
package and adding its name below; no platform file changes.
"""

DOMAINS: tuple[str, ...] = ("labs", "tenants", "infra")
"""The domain packages under `backend.domains`, in the order their views are listed."""
