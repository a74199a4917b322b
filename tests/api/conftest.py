"""The real FastAPI app over the real lab stack, called in-process through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend.api.app import create_app
from backend.api.context import ApiContext
from tests.stack import LabStack

TOKEN = "test-token-0123456789abcdef"


def api_context(stack: LabStack) -> ApiContext:
    """An API context over a test stack."""
    return ApiContext(
        client=stack.client,
        database=stack.database,
        labs=stack.service,
        audit=stack.audit,
        token=TOKEN,
        namespace=stack.client.namespace,
        temporal_address="127.0.0.1:test",
    )


@pytest.fixture
async def api(stack: LabStack) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated httpx client of the app."""
    transport = httpx.ASGITransport(app=create_app(api_context(stack)))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://flightdeck",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client
