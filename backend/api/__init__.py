"""The HTTP API (FastAPI): routers per domain, bearer-token auth, readable errors."""
