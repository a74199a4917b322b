"""Logging for backend processes: a file in the data dir (the TUI owns the terminal), and stderr."""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path


def configure_logging(log_file: Path, level: str, *, to_stderr: bool = True) -> None:
    """Log to `log_file` (rotated) and warnings to stderr, unless the supervisor captures us."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    file_handler = RotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=3)
    file_handler.setFormatter(fmt)
    root.addHandler(file_handler)
    if to_stderr and os.environ.get("FLIGHTDECK_EMBEDDED_CHILD") != "1":
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(fmt)
        stream.setLevel(max(logging.WARNING, root.level))
        root.addHandler(stream)
    for noisy in ("httpx", "uvicorn.access", "temporalio.activity", "temporalio.workflow"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
