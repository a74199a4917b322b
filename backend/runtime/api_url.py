"""The data dir's `api-url` file: where this data dir's running backend serves its API.

It holds the URL and the backend's pid; a file whose process is gone is stale and ignored, so a
TUI or worker is never pointed at a dead port.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from backend.runtime.temporal_server import pid_alive


def write_api_url(path: Path, url: str) -> None:
    """Record that this process serves the API at `url`."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{url}\n{os.getpid()}\n")
    os.replace(tmp, path)


def read_api_url(path: Path) -> str | None:
    """The recorded URL, if the process that wrote it still runs."""
    try:
        lines = path.read_text().split()
    except OSError:
        return None
    if not lines:
        return None
    if len(lines) > 1 and lines[1].isdigit() and not pid_alive(int(lines[1])):
        return None
    return lines[0]


def forget_api_url(path: Path) -> None:
    """Remove the record if it is this process's."""
    try:
        lines = path.read_text().split()
    except OSError:
        return
    if len(lines) > 1 and lines[1] == str(os.getpid()):
        with contextlib.suppress(OSError):
            path.unlink()
