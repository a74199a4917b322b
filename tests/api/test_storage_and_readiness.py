"""Storage trouble is a 503 with Retry-After, never a 500; `/healthz` reports the database and
`/readyz` is 503 when the database or Temporal is not usable. Real SQLite throughout: another
connection holds the write lock, or the store's connection is closed."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from backend.api.app import create_app
from backend.api.context import ApiContext
from backend.store.database import Database
from tests.api.conftest import TOKEN, api_context
from tests.stack import Stack

NEW_LAB = {"name": "locked-lab", "requested_by": "alice", "severity": "low", "ttl_hours": 2}


@pytest.fixture
async def locked(stack: Stack) -> AsyncIterator[sqlite3.Connection]:
    """Another connection holding the database's write lock; the store waits 50 ms for it."""
    await stack.services.database.connection.execute("PRAGMA busy_timeout=50")
    other = sqlite3.connect(stack.services.database.path, isolation_level=None, timeout=0.05)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_a_locked_database_is_a_503_with_retry_after(
    api: httpx.AsyncClient, locked: sqlite3.Connection
) -> None:
    response = await api.post("/api/v1/labs", json=NEW_LAB)

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert response.json() == {
        "detail": "the store is busy or unavailable: database is locked; try again"
    }


async def test_reads_still_answer_while_another_process_writes(
    api: httpx.AsyncClient, locked: sqlite3.Connection
) -> None:
    response = await api.get("/api/v1/labs")

    assert response.status_code == 200
    assert (await api.get("/readyz")).json() == {
        "ready": True,
        "database": "ok",
        "temporal": "connected",
    }


async def test_healthz_and_readyz_report_a_usable_database_and_temporal(
    api: httpx.AsyncClient,
) -> None:
    health = await api.get("/healthz", headers={"Authorization": ""})
    ready = await api.get("/readyz", headers={"Authorization": ""})

    assert health.json()["database"] == "ok"
    assert health.json()["temporal"] == "connected"
    assert (ready.status_code, ready.json()) == (
        200,
        {"ready": True, "database": "ok", "temporal": "connected"},
    )


async def test_a_closed_database_makes_readyz_503_and_healthz_say_why(stack: Stack) -> None:
    context = api_context(stack)
    # A connection of its own, so closing it leaves the stack's workers alone.
    context.database = Database(
        await _closed_connection(context.database.path), context.database.path
    )
    async with _client(create_app(context)) as api:
        health = await api.get("/healthz")
        ready = await api.get("/readyz")
        personal = await api.get("/api/v1/me", headers={"Authorization": "Bearer fdt_someone"})

    assert personal.status_code == 503 and personal.headers["Retry-After"] == "2"
    assert personal.json()["detail"].startswith("the store is busy or unavailable")
    assert health.status_code == 200
    assert health.json()["database"] == "unavailable: no active connection"
    assert ready.status_code == 503
    assert ready.json() == {
        "ready": False,
        "database": "unavailable: no active connection",
        "temporal": "connected",
    }


async def test_an_unreachable_temporal_makes_readyz_503(stack: Stack) -> None:
    context: ApiContext = api_context(stack)
    context.client = await Client.connect("127.0.0.1:1", namespace="flightdeck", lazy=True)
    async with _client(create_app(context)) as api:
        ready = await api.get("/readyz")
        health = await api.get("/healthz")

    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "database": "ok", "temporal": "unreachable"}
    assert health.status_code == 200
    assert health.json()["temporal"] == "unreachable"


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://flightdeck",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


async def _closed_connection(path: Path) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(path)
    await connection.close()
    return connection
