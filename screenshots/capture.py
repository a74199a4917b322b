"""Regenerate screenshots/*.svg and *.png from the running app (`make screenshots`).

Starts a real embedded stack in a temporary data dir (Temporal dev server on free ports, the
backend as a child process), creates labs in several phases through the API, then drives the TUI
with Pilot and saves what it shows. Nothing here is drawn by hand.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import TemporalSettings, ensure_api_token, load_settings  # noqa: E402
from backend.runtime.supervisor import BackendChild, embedded_server  # noqa: E402
from tui.app import FlightdeckApp  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)


async def until(
    read: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], limit: float = 90
) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = await read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting; last value {value!r}")
        await asyncio.sleep(0.2)


async def seed(url: str, token: str) -> None:
    """Labs in several phases: running, awaiting review, cancelled, provisioning."""
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:

        async def create(name: str, severity: str, who: str) -> str:
            body = {"name": name, "requested_by": who, "severity": severity, "ttl_hours": 8}
            response = await api.post("/api/v1/labs", json=body)
            response.raise_for_status()
            lab_id: str = response.json()["id"]
            return lab_id

        async def status(lab_id: str) -> str:
            value: str = (await api.get(f"/api/v1/labs/{lab_id}")).json()["status"]
            return value

        running = await create("checkout-canary", "medium", "alice")
        review = await create("search-reindex", "high", "bob")
        cancelled = await create("legacy-billing", "low", "carol")
        for lab_id in (running, review, cancelled):
            await until(lambda lab_id=lab_id: status(lab_id), lambda s: s == "awaiting_review")
        await api.post(
            f"/api/v1/labs/{running}/review",
            json={"decision": "approve", "reviewer": "dana", "comment": "ship it"},
        )
        await api.post(
            f"/api/v1/labs/{cancelled}/cancel", json={"reason": "superseded", "actor": "carol"}
        )
        await until(lambda: status(cancelled), lambda s: s == "cancelled")
        await until(lambda: status(running), lambda s: s == "running")
        await create("payments-dr-drill", "critical", "erin")
        await asyncio.sleep(4)  # let the newest lab get into provisioning for the picture


async def shoot(url: str, token: str) -> list[Path]:
    """Drive the TUI and save each view."""
    saved: list[Path] = []
    app = FlightdeckApp(url, token, user="oncall", refresh_interval=0.5)

    def save(name: str) -> None:
        path = OUT / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(OUT))
        saved.append(path)

    async with app.run_test(size=SIZE) as pilot:
        for _ in range(40):
            await pilot.pause(0.1)
        await pilot.press("down", "down")  # the lab awaiting review
        for _ in range(10):
            await pilot.pause(0.1)
        save("labs")
        await pilot.press("enter")
        for _ in range(15):
            await pilot.pause(0.1)
        save("lab-detail")
        await pilot.press("r")
        await pilot.pause(0.5)
        save("review")
        await pilot.press("escape", "escape")
        await pilot.pause(0.3)
        await pilot.press("n")
        await pilot.pause(0.3)
        await pilot.press(*"orders-perf-test")
        await pilot.pause(0.2)
        save("new-lab")
        await pilot.press("escape")
    return saved


def to_png(paths: list[Path]) -> None:
    try:
        import cairosvg  # type: ignore[import-untyped]
    except ImportError:
        print("cairosvg not installed: SVG only")
        return
    for svg in paths:
        cairosvg.svg2png(url=str(svg), write_to=str(svg.with_suffix(".png")), output_width=1400)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="flightdeck-shots-") as tmp:
        os.environ["FLIGHTDECK_DATA_DIR"] = tmp
        os.environ["FLIGHTDECK_SANDBOX_STEP_SECONDS"] = "1.2"
        settings = load_settings()
        settings.paths.ensure()
        temporal = TemporalSettings()
        server = embedded_server(settings, temporal, headless=True, port=None)
        info = server.start_or_reuse(timeout=60)
        env = {**os.environ, "TEMPORAL_ADDRESS": info.address, "TEMPORAL_NAMESPACE": info.namespace}
        backend = BackendChild(settings, env, 0)
        try:
            url = backend.wait_ready(90)
            token = ensure_api_token(settings)
            asyncio.run(seed(url, token))
            paths = asyncio.run(shoot(url, token))
            to_png(paths)
            for path in paths:
                print(f"wrote {path.relative_to(ROOT)} (+ .png)")
        finally:
            backend.stop()
            server.stop()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
