"""Free text (actors, reasons, comments, variables) refuses control characters, terminal escape
sequences and bidirectional overrides: 422 with a message, nothing recorded."""

from __future__ import annotations

import httpx
import pytest

ESCAPE = "ok\x1b[2J\x1b[31mgranted"
BIDI = "approved \u202egnp.exe"
C1 = "fine\x9bcolor"


@pytest.mark.parametrize("text", [ESCAPE, BIDI, C1])
async def test_unsafe_text_is_refused_everywhere(api: httpx.AsyncClient, text: str) -> None:
    attempts = [
        ("/api/v1/labs/abc/cancel", {"reason": text, "actor": "bob"}),
        ("/api/v1/labs/abc/cancel", {"reason": "why", "actor": text}),
        ("/api/v1/labs/abc/review", {"decision": "approve", "reviewer": "bob", "comment": text}),
        ("/api/v1/infra-runs/abc/approve", {"reason": text, "actor": "bob"}),
        ("/api/v1/tenants/abc/cancel", {"reason": text, "actor": "bob"}),
        ("/api/v1/infra-runs", {"name": "x", "directory": "namespace", "variables": {"a": text}}),
        ("/api/v1/infra-runs", {"name": "x", "directory": text}),
    ]
    for path, body in attempts:
        response = await api.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert "control characters" in response.text, response.text
    assert (await api.get("/api/v1/infra-runs")).json()["total"] == 0
    assert (await api.get("/api/v1/audit")).json()["items"] == []


async def test_ordinary_unicode_is_fine(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/labs",
        json={"name": "zurich", "requested_by": "Zoë Ångström", "severity": "low", "ttl_hours": 1},
    )
    assert response.status_code == 201, response.text
