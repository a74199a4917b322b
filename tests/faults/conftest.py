"""The fault suite's marker and its figures, printed in the terminal summary of every run."""

from __future__ import annotations

import pytest

_FIGURES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: kills processes and holds locks mid-workflow (make faults)"
    )
    config.stash[_FIGURES] = []


@pytest.fixture
def fault_figures(request: pytest.FixtureRequest) -> list[str]:
    """Lines a fault scenario wants printed after the run, whatever pytest captures."""
    return request.config.stash[_FIGURES]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("fault figures")
        for line in lines:
            terminalreporter.write_line(line)
