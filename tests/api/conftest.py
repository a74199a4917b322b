"""The real FastAPI app over the real platform stack, called in-process through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.api.app import create_app
from backend.api.context import ApiContext
from tests.stack import Stack

TOKEN = "test-token-0123456789abcdef"


def api_context(stack: Stack) -> ApiContext:
    """An API context over a test stack."""
    services = stack.services
    return ApiContext(
        client=stack.client,
        database=services.database,
        entities=services.entities,
        actions=services.actions,
        needs=services.needs,
        audit=services.audit,
        status=services.status,
        token=TOKEN,
        namespace=stack.client.namespace,
        temporal_address="127.0.0.1:test",
    )


def api_client(stack: Stack) -> httpx.AsyncClient:
    """An authenticated httpx client of the app over `stack`."""
    transport = httpx.ASGITransport(app=create_app(api_context(stack)))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://flightdeck",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated httpx client of the app."""
    async with api_client(stack) as client:
        yield client
