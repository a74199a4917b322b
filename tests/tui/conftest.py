"""Fixtures for the TUI tests: a respx-mocked API serving labs and tenants, and the app on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.tui.fake_api import BASE_URL, SPECS, TOKEN, FakeApi
from tests.tui.harness import RecordingApp


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """The API, mocked at the HTTP layer."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield FakeApi(router)


@pytest.fixture
def app(api: FakeApi) -> RecordingApp:
    """The TUI (labs and tenants) against the mocked API; it polls only when a test presses f5."""
    return RecordingApp(BASE_URL, TOKEN, refresh_interval=3600, user="carol", specs=SPECS)
