"""The TUI is only an HTTP client: loading it (and the domain declarations it reads) pulls in
no Temporal, database or server code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_ROOTS = ("temporalio", "aiosqlite", "fastapi", "uvicorn")
FORBIDDEN_BACKEND = (
    "backend.services",
    "backend.store",
    "backend.api",
    "backend.workflows",
    "backend.runtime",
)

PROBE = """
import json, sys
import tui.app
app = tui.app.FlightdeckApp("http://127.0.0.1:9", "token")  # reads every domain's declaration
print(json.dumps({"modules": sorted(sys.modules), "views": app.session.view_names}))
"""


def test_importing_the_tui_loads_no_backend_internals() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = json.loads(result.stdout)
    modules: list[str] = loaded["modules"]
    offenders = [
        name
        for name in modules
        if name.split(".")[0] in FORBIDDEN_ROOTS
        or any(name == p or name.startswith(f"{p}.") for p in FORBIDDEN_BACKEND)
    ]
    assert offenders == []
    assert "backend.domain.catalog" in modules
    assert "labs" in loaded["views"]
