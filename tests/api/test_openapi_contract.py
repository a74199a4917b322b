"""The OpenAPI schema is a contract the app keeps: schemathesis generates requests from it and
every answer must match it.

What runs: the real app over the real test stack (SQLite, sandbox providers, every domain's
worker, the Temporal dev server), served by uvicorn on a loopback port in this test's event loop;
schemathesis's Hypothesis tests run in a thread and call it over HTTP with the bearer token.
Every operation in the schema gets schemathesis's three phases, as `schemathesis run` does:
the schema's examples, the coverage phase (boundary values, missing and wrong-typed fields,
unsupported methods) and a few fuzzed cases, positive and negative, derandomized. All of
schemathesis's default checks apply, among them: no 5xx (`not_a_server_error`), status codes,
content types, headers and bodies as documented (`response_schema_conformance`, ...), invalid
data refused and valid data accepted, 405 with an `Allow` header, auth not ignored.

Operations that create entities (each starts a workflow) get fewer fuzzed cases, so the module
stays under ~40 s on two cores. Every operation is tried; failures are reported together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis.core.result import Ok
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)

from backend.api.app import create_app
from backend.runtime.backend_process import bind_socket
from tests.api.conftest import TOKEN, api_context
from tests.stack import Stack

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FUZZED = 6
"""Fuzzed cases per operation (on top of examples and the coverage phase)."""
FUZZED_CREATES = 2


@pytest.fixture
async def served(stack: Stack) -> AsyncIterator[tuple[FastAPI, str]]:
    """The app over the stack, served on a free loopback port; its base URL."""
    app = create_app(api_context(stack))
    sock = bind_socket("127.0.0.1", 0)  # as the backend binds it: Nagle off on each connection
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.01)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_every_operation_answers_as_its_schema_says(served: tuple[FastAPI, str]) -> None:
    app, base_url = served
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.config.update(base_url=base_url, headers=AUTH)
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures[str(result)] = f"schema error: {result.err()}"
            continue
        operation = result.ok()
        try:
            await asyncio.to_thread(_contract_test(operation, base_url))
        except (Exception, BaseExceptionGroup) as err:  # every operation's failures reported
            failures[operation.label] = str(err)
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as api:
        labs = (await api.get("/api/v1/labs")).json()
    assert labs["total"] > 0, "no generated create got past the token: is AUTH sent?"


def _contract_test(
    operation: schemathesis.APIOperation[Any, Any, Any, Any], base_url: str
) -> Callable[[], None]:
    """The Hypothesis test of one operation: every generated case called and validated."""

    def check(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(base_url=base_url)

    creates = operation.method.upper() == "POST" and operation.path.count("/") == 3
    settings = hypothesis.settings(
        max_examples=FUZZED_CREATES if creates else FUZZED,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    test: Callable[[], None] = create_test(
        operation=operation,
        test_func=check,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=list(HypothesisTestMode),
            settings=settings,
        ),
    )
    return test
