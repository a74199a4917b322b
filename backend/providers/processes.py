"""Telling processes apart: a pid and when it started name one process, even after the pid is
reused (pid files of terraform runs, worker apps of the DIG sandbox, a hook worker's owner)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def process_start(pid: int) -> str | None:
    """When process `pid` started (with the pid, what tells it from a later process given the
    same pid); None when there is no such process or it has exited (a zombie)."""
    if pid <= 0:
        return None
    proc = Path("/proc")
    if proc.is_dir():
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 20 or fields[0] in ("Z", "X", "x"):
            return None
        return fields[19]
    try:
        listed = subprocess.run(
            ["ps", "-o", "stat=", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    state, _, started = listed.stdout.strip().partition(" ")
    if listed.returncode != 0 or not state or state.startswith("Z"):
        return None
    return " ".join(started.split())
