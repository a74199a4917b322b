"""The TUI is only an HTTP client: nothing under tui/ reaches past the API contract."""

from __future__ import annotations

import ast
from pathlib import Path

import tui

FORBIDDEN_ROOTS = {"temporalio", "aiosqlite", "fastapi", "uvicorn"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_tui_imports_only_the_domain_models_from_the_backend() -> None:
    offenders = []
    for path in sorted(Path(tui.__file__).parent.rglob("*.py")):
        for module in imported_modules(path):
            root = module.split(".")[0]
            backend_beyond_domain = root == "backend" and not module.startswith("backend.domain")
            if root in FORBIDDEN_ROOTS or backend_beyond_domain:
                offenders.append(f"{path.name}: {module}")
    assert offenders == []
