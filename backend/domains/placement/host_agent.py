"""The reference host agent: `flightdeck host-agent NAME --dir D [--interval S] [--once]`.

Each round reads the host's change feed since its bookmark
(`GET /api/v1/hosts/NAME/changes?since=B`), writes every deployment's rendering to
`D/<deployment>.yaml` (a temporary file, then `os.replace`: never half a file), removes the
files of the deployments taken off the host, keeps `D/.revisions.json` (deployment → revision
it runs), then moves the bookmark (`D/.bookmark`) and reports what runs
(`POST /api/v1/hosts/NAME/deployed`).

At least once and idempotent: everything is applied before the bookmark moves, so a crash
between the two applies the same changes again on the next round, which changes nothing. A
bookmark the API does not know (409: past its newest change, e.g. a new database) starts over
from 0; a round from 0 is a full resync, so deployments the feed no longer lists are removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from backend.domains.placement.cli import Api, ApiRefused, CliError
from backend.domains.placement.model import NAME_PATTERN

log = logging.getLogger("flightdeck.host_agent")

BOOKMARK = ".bookmark"
REVISIONS = ".revisions.json"
SUFFIX = ".yaml"
_NAME = re.compile(NAME_PATTERN)


class _Stderr(logging.Handler):
    """One line per record on the current `sys.stderr` (looked up at each record)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # never let logging take the agent down
            self.handleError(record)


@dataclass
class RoundResult:
    """What one round did."""

    bookmark: int
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    reported: int | None = None
    """Assignments the report marked deployed (None: not reported, the host is deleted)."""
    restarted: bool = False
    """The bookmark was unknown to the API, so the round started over from 0."""


class HostAgent:
    """One host's agent over a directory."""

    def __init__(self, api: Api, host: str, directory: Path) -> None:
        self.api = api
        self.host = host
        self.dir = directory

    # -- state on disk -----------------------------------------------------------------------

    def bookmark(self) -> int:
        """The persisted bookmark (0 when there is none, or it is unreadable)."""
        path = self.dir / BOOKMARK
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            return 0
        except OSError as err:
            raise CliError(f"cannot read {path}: {err.strerror or err}") from None
        if not text.isdigit():
            log.warning("%s: %s holds %r, not a bookmark; starting from 0", self.host, path, text)
            return 0
        return int(text)

    def revisions(self) -> dict[str, int]:
        """Deployment → revision this host runs (as written to `.revisions.json`)."""
        path = self.dir / REVISIONS
        try:
            data: Any = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.warning("%s: %s is unreadable (%s); starting from 0", self.host, path, err)
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(k): int(v)
            for k, v in data.items()
            if isinstance(v, int) and _NAME.match(str(k)) is not None
        }

    def _write(self, name: str, text: str) -> None:
        """Replace `dir/name` with `text`, atomically (temporary file, fsync, rename)."""
        fd, temporary = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.dir / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_dir(self.dir)

    # -- a round -----------------------------------------------------------------------------

    def feed(self, since: int) -> tuple[dict[str, Any], bool]:
        """The feed since `since`, and whether it had to start over from 0 (409)."""
        path = f"/api/v1/hosts/{self.host}/changes"
        try:
            return self.api.call("GET", path, params={"since": since}), False
        except ApiRefused as err:
            if err.status != 409 or since == 0:
                raise
            log.warning("%s: %s; starting over from 0", self.host, err.message)
        return self.api.call("GET", path, params={"since": 0}), True

    def round(self) -> RoundResult:
        """Fetch, apply, move the bookmark, report."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CliError(f"cannot create {self.dir}: {err.strerror or err}") from None
        feed, restarted = self.feed(self.bookmark())
        since = int(feed.get("since", 0))
        revisions = self.revisions()
        result = RoundResult(bookmark=int(feed["bookmark"]), restarted=restarted)
        try:
            listed: set[str] = set()
            for item in feed.get("deployments") or []:
                name = str(item["deployment"])
                if not _NAME.match(name):
                    log.warning("%s: skipping deployment %r (not a name)", self.host, name)
                    continue
                listed.add(name)
                target = self.dir / f"{name}{SUFFIX}"
                text = str(item["rendered"])
                if _read(target) != text:
                    self._write(target.name, text)
                    result.written.append(name)
                else:
                    result.unchanged += 1
                revisions[name] = int(item["revision"])
            gone = [str(t["deployment"]) for t in feed.get("tombstones") or []]
            if since == 0:  # a full resync: whatever the feed does not list runs no more
                gone += [name for name in revisions if name not in listed]
            for name in dict.fromkeys(gone):
                if not _NAME.match(name) or name in listed:
                    continue
                path = self.dir / f"{name}{SUFFIX}"
                if path.exists() or name in revisions:
                    path.unlink(missing_ok=True)
                    result.removed.append(name)
                revisions.pop(name, None)
            self._write(REVISIONS, json.dumps(revisions, indent=2, sort_keys=True) + "\n")
            self._write(BOOKMARK, f"{result.bookmark}\n")
        except OSError as err:
            raise CliError(f"cannot write to {self.dir}: {err.strerror or err}") from None
        if feed.get("host_deleted"):
            log.warning("%s: the host is deleted; nothing to report", self.host)
            return result
        answer = self.api.call(
            "POST",
            f"/api/v1/hosts/{self.host}/deployed",
            body={"bookmark": result.bookmark, "deployments": revisions},
        )
        result.reported = int(answer.get("deployed", 0))
        return result

    def run(self, *, interval: float, once: bool, stop: threading.Event) -> int:
        """Rounds every `interval` seconds until `stop` (or one, `once`); the exit code."""
        while True:
            try:
                result = self.round()
            except CliError as err:
                if once:
                    raise
                log.error("%s: %s; trying again in %g s", self.host, err.message, interval)
            else:
                log.info("%s: %s", self.host, describe(result))
            if once or stop.wait(interval):
                return 0


def describe(result: RoundResult) -> str:
    """One line for a round."""
    parts = [f"bookmark #{result.bookmark}"]
    if result.restarted:
        parts.append("started over from 0")
    parts.append(f"wrote {', '.join(result.written)}" if result.written else "wrote nothing")
    if result.unchanged:
        parts.append(f"{result.unchanged} unchanged")
    if result.removed:
        parts.append(f"removed {', '.join(result.removed)}")
    if result.reported is not None:
        parts.append(f"reported ({result.reported} newly deployed)")
    return "; ".join(parts)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _sync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` (the round under way finishes); a second one interrupts.
    Only in the main thread (elsewhere, signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, _: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("stopping after this round (signal %d)", signum)
        stop.set()

    for sig in previous:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_agent_command(api: Api, args: argparse.Namespace) -> int:
    """`flightdeck host-agent NAME --dir D [--interval S] [--once]`."""
    if not _NAME.match(args.name):
        raise CliError(f"{args.name!r} is not a host name", 2)
    if not args.interval > 0:
        raise CliError("--interval must be more than 0 seconds", 2)
    if not log.handlers:
        handler = _Stderr()
        handler.setFormatter(
            logging.Formatter("%(asctime)s host-agent %(message)s", "%Y-%m-%d %H:%M:%S")
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    stop = threading.Event()
    agent = HostAgent(api, args.name, args.dir.expanduser())
    with stopping_on_signals(stop):
        return agent.run(interval=args.interval, once=args.once, stop=stop)
