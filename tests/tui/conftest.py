"""Fixtures for the TUI tests: a respx-mocked API and the app pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.tui.fake_api import BASE_URL, FakeApi
from tests.tui.harness import RecordingApp

TOKEN = "secret-token"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """The labs API, mocked at the HTTP layer."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield FakeApi(router)


@pytest.fixture
def app(api: FakeApi) -> RecordingApp:
    """The TUI against the mocked API; it polls only when a test presses f5."""
    return RecordingApp(BASE_URL, TOKEN, refresh_interval=3600, user="carol")
