"""`flightdeck`: the one console script.

    flightdeck                      everything embedded: Temporal dev server, backend, TUI
    flightdeck backend              HTTP API + Temporal worker(s)
    flightdeck api                  HTTP API only
    flightdeck worker [-q Q ...]    Temporal worker(s) only, for the given task queues
    flightdeck tui [--api URL]      the TUI against a running backend
    flightdeck server               the embedded Temporal dev server only (foreground)
    flightdeck codec new-key        a fresh payload encryption key (printed, or added to a file)
    flightdeck hook-worker -q Q     the sample TAC hook workflows on a task queue
    flightdeck create|get|update|delete NOUN ...   hosts and placement, over the API
    flightdeck host-agent NAME --dir D              the reference host agent

Errors are one readable line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from backend import __version__
from backend.config import (
    ConfigError,
    Settings,
    TemporalSettings,
    default_data_dir,
    load_settings,
    load_temporal_settings,
)
from backend.domain.identity import Role
from backend.domains.placement.cli import PLACEMENT_RUNNERS, add_placement_commands

EXIT_USAGE = 2
EXIT_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with `--help` on every command."""
    parser = argparse.ArgumentParser(
        prog="flightdeck",
        description="Terminal control room for long-running provisioning on Temporal. "
        "With no command: start the embedded Temporal dev server, the backend and the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"flightdeck {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where the databases, token and logs live (FLIGHTDECK_DATA_DIR)",
    )
    common.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        default=argparse.SUPPRESS,
        help="backend log level (FLIGHTDECK_LOG_LEVEL)",
    )
    # Accepted before the command and after it (`flightdeck --data-dir D api` or `api --data-dir D`).
    for action in common._actions:
        parser._add_action(action)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def serving(name: str, help_text: str, *, api: bool, queues: bool) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        if api:
            sub.add_argument(
                "--host", help="API address to bind (FLIGHTDECK_API_HOST, default 127.0.0.1)"
            )
            sub.add_argument(
                "--port", type=int, help="API port (FLIGHTDECK_API_PORT, default 8765; 0: any)"
            )
            sub.add_argument(
                "--tls-cert", type=Path, help="serve HTTPS with this PEM certificate (chain)"
            )
            sub.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
            sub.add_argument(
                "--insecure",
                action="store_true",
                default=None,
                help="allow plain HTTP on a non-loopback --host (prints a warning)",
            )
        if queues:
            sub.add_argument(
                "-q",
                "--task-queue",
                action="append",
                default=[],
                metavar="Q",
                help="serve only this task queue (repeatable; default: all)",
            )
        return sub

    serving(
        "backend",
        "Run the HTTP API and the Temporal workers in one process.",
        api=True,
        queues=True,
    )
    serving("api", "Run the HTTP API only (workers run elsewhere).", api=True, queues=False)
    worker = serving(
        "worker",
        "Run Temporal workers only; they report entity status to a Flightdeck API.",
        api=False,
        queues=True,
    )
    worker.add_argument(
        "--api",
        help="the API that stores status (FLIGHTDECK_API_URL; default: this data dir's backend)",
    )
    worker.add_argument(
        "--token-file",
        type=Path,
        help="file holding that API's token (default: FLIGHTDECK_API_TOKEN or the data dir's)",
    )

    tui = commands.add_parser(
        "tui",
        help="Run the TUI against a running backend.",
        description="Run the TUI against a running backend.",
        parents=[common],
    )
    tui.add_argument(
        "--api", help="backend URL (default: the local backend's, else http://127.0.0.1:8765)"
    )
    token = tui.add_mutually_exclusive_group()
    token.add_argument(
        "--token", help="API token (default: FLIGHTDECK_API_TOKEN or the data dir's api-token)"
    )
    token.add_argument("--token-file", type=Path, help="file holding the API token")

    server = commands.add_parser(
        "server",
        help="Run only the embedded Temporal dev server, in the foreground.",
        description="Run only the embedded Temporal dev server (stops on Ctrl-C). Other "
        "flightdeck commands on this data dir reuse it.",
        parents=[common],
    )
    server.add_argument("--port", type=int, help="gRPC port (default 7233 when free)")
    server.add_argument("--ui-port", type=int, help="web UI port (default 8233 when free)")
    server.add_argument("--headless", action="store_true", help="no web UI")

    hook_help = (
        "Run the sample TAC hook workflows on a task queue (what a worker DIG's app runs in"
        " the sandbox)."
    )
    hook_worker = commands.add_parser(
        "hook-worker", help=hook_help, description=hook_help, parents=[common]
    )
    hook_worker.add_argument(
        "-q", "--task-queue", required=True, metavar="Q", help="the task queue to poll"
    )
    hook_worker.add_argument(
        "--stop-with",
        type=int,
        metavar="PID",
        help="stop once the process PID is gone (checked every second)",
    )

    codec = commands.add_parser(
        "codec",
        help="Payload encryption keys.",
        description="Payload encryption keys (FLIGHTDECK_CODEC_KEYS or FLIGHTDECK_CODEC_KEY_FILE:"
        " id:base64 entries, the first one current).",
    )
    codec_commands = codec.add_subparsers(dest="codec_command", metavar="COMMAND", required=True)
    new_key = codec_commands.add_parser(
        "new-key",
        help="Make a fresh AES-256 key: print its id:base64 line, or add it to a key file.",
        description="Make a fresh AES-256 key. Without --file, print its id:base64 line (put it"
        " first in FLIGHTDECK_CODEC_KEYS to make it current). With --file, prepend it to that key"
        " file (created private to you): it becomes current, older keys still decrypt.",
    )
    new_key.add_argument("--id", help="key id (default: k<date>-<random>)")
    new_key.add_argument("--file", type=Path, help="key file to add the key to, first")

    audit = commands.add_parser(
        "audit",
        help="Check the audit log's hash chain, or export it.",
        description="The audit log is hash-chained: every entry is sealed (HMAC, key in"
        " DATA_DIR/audit-key) over its contents and the previous entry's seal.",
        parents=[common],
    )
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    audit_commands.add_parser(
        "verify",
        help="Find changed, deleted or inserted entries; exit 1 when there are any.",
        description="Walk the audit log in order and check every seal and link. Prints the"
        " head seal: write it down elsewhere to notice entries cut off the end later.",
        parents=[common],
    )
    export = audit_commands.add_parser(
        "export",
        help="Write the audit log as JSON lines (oldest first, with seals).",
        description="Write every audit entry as one JSON object per line, oldest first, with"
        " its seal and its predecessor's.",
        parents=[common],
    )
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    tokens = commands.add_parser(
        "token",
        help="Personal API tokens: who acts, with which roles.",
        description="Personal API tokens. A request made with one acts as its person (whatever"
        " the body says) with its roles: viewer (read), operator (create, cancel, retry),"
        " approver (review, approve, deny), admin (everything), worker (status reports only).",
        parents=[common],
    )
    token_commands = tokens.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    add = token_commands.add_parser(
        "add",
        help="Make a token for a person; it is printed once.",
        description="Make a token for NAME with the given roles; it is printed once (only its"
        " hash is stored).",
        parents=[common],
    )
    add.add_argument("name", help="the person (their user name or e-mail)")
    add.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[role.value for role in Role],
        help="a role (repeatable)",
    )
    token_commands.add_parser(
        "list", help="The tokens, their roles, revoked or not.", parents=[common]
    )
    revoke = token_commands.add_parser("revoke", help="Revoke a person's token.", parents=[common])
    revoke.add_argument("name")
    add_placement_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `flightdeck` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(
            data_dir=getattr(args, "data_dir", None),
            log_level=getattr(args, "log_level", None),
            api_host=getattr(args, "host", None),
            api_port=getattr(args, "port", None) if args.command != "server" else None,
            api_url=getattr(args, "api", None) if args.command == "worker" else None,
            api_tls_cert=getattr(args, "tls_cert", None),
            api_tls_key=getattr(args, "tls_key", None),
            api_insecure=getattr(args, "insecure", None),
        )
        temporal = load_temporal_settings()
        command: Callable[[argparse.Namespace, Settings, TemporalSettings], int] = {
            None: _run_all,
            "backend": _run_backend,
            "api": _run_backend,
            "worker": _run_backend,
            "tui": _run_tui,
            "server": _run_server,
            "codec": _run_codec,
            "hook-worker": _run_hook_worker,
            "audit": _run_audit,
            "token": _run_token,
            **PLACEMENT_RUNNERS,
        }[args.command]
        code = command(args, settings, temporal)
    except ConfigError as err:
        _fail(str(err), EXIT_USAGE)
    except KeyboardInterrupt:
        code = 130
    except Exception as err:  # one line for people, the traceback for the log
        where = _log_crash(args)
        message = f"{type(err).__name__}: {err}".splitlines()[0]
        _fail(f"{message} (details in {where})" if where else message, EXIT_FAILED)
    _exit(code)


def _log_crash(args: argparse.Namespace) -> Path | None:
    """Write the current exception's traceback to the data dir's log (never to the terminal)."""
    import tempfile
    import traceback

    data_dir = getattr(args, "data_dir", None) or os.environ.get("FLIGHTDECK_DATA_DIR")
    root = Path(data_dir) if data_dir else default_data_dir()
    candidates = [root / "logs", Path(tempfile.gettempdir())]
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "flightdeck-crash.log"
            with path.open("a") as handle:
                handle.write(f"--- flightdeck {args.command or ''} failed\n")
                handle.write(traceback.format_exc())
            return path
        except OSError:
            continue
    return None


def _fail(message: str, code: int) -> None:
    print(f"flightdeck: error: {message}", file=sys.stderr, flush=True)
    _exit(code)


def _exit(code: int) -> None:
    """Flush and leave without interpreter teardown (temporalio issue 300: abort at exit)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_all(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    from backend.runtime.supervisor import run_all
    from backend.runtime.temporal_server import TemporalServerError

    try:
        return run_all(settings, temporal)
    except TemporalServerError as err:
        raise ConfigError(str(err)) from None


def _run_backend(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    from backend.runtime.backend_process import run_backend
    from backend.runtime.logging_setup import configure_logging

    settings.paths.ensure()
    configure_logging(settings.paths.logs / f"{args.command}.log", settings.log_level)
    token_file: Path | None = getattr(args, "token_file", None)
    asyncio.run(
        run_backend(
            settings,
            temporal,
            api=args.command in ("backend", "api"),
            workers=args.command in ("backend", "worker"),
            task_queues=getattr(args, "task_queue", []),
            api_token=_read_token_file(token_file) if token_file else None,
        )
    )
    return 0


def _read_token_file(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as err:
        raise ConfigError(f"cannot read token file {path}: {err.strerror}") from None
    if not token:
        raise ConfigError(f"token file {path} is empty")
    return token


def _run_tui(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    url = args.api or _local_api_url(settings)
    if args.token_file:
        token = _read_token_file(args.token_file)
    else:
        token = args.token or settings.api_token or _local_token(settings)
    from tui.app import run_tui

    run_tui(url, token)
    return 0


def _local_api_url(settings: Settings) -> str:
    """The API of this data dir's running backend; ConfigError when none runs (a stale record
    of a backend that has exited is ignored, never followed to a dead port)."""
    from backend.runtime.api_url import read_api_url

    url = read_api_url(settings.paths.root / "api-url")
    if url is None:
        raise ConfigError(
            f"no backend is running for data dir {settings.paths.root}; start one with"
            " `flightdeck` or `flightdeck backend`, or pass --api URL"
        )
    return url


def _local_token(settings: Settings) -> str:
    """The data dir's token (read, never created: the TUI needs the backend's own)."""
    try:
        token = settings.paths.api_token.read_text().strip()
    except OSError as err:
        raise ConfigError(
            f"cannot read the API token {settings.paths.api_token}: {err.strerror}"
            " (pass --token-file or set FLIGHTDECK_API_TOKEN)"
        ) from None
    if not token:
        raise ConfigError(f"the API token file {settings.paths.api_token} is empty")
    return token


def _run_server(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    from backend.runtime.embedded import embedded_server
    from backend.runtime.temporal_server import TemporalServerError

    settings.paths.ensure()
    server = embedded_server(
        settings, temporal, headless=args.headless, port=args.port, ui_port=args.ui_port
    )
    try:
        info = server.start_or_reuse(timeout=60.0)
    except TemporalServerError as err:
        raise ConfigError(str(err)) from None
    if not info.owned:
        print(
            f"Temporal dev server already running at {info.address} (pid {info.pid}); nothing to do."
        )
        return 0
    print(f"Temporal dev server at {info.address}, namespace {info.namespace}", flush=True)
    if info.ui_url:
        print(f"Temporal UI: {info.ui_url}", flush=True)
        if server.ui_codec_endpoint:
            codec = server.ui_codec_endpoint.rsplit("/", 1)[0]
            print(f"The UI decrypts payloads through the backend at {codec}/...", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("Stopping the Temporal dev server ...", flush=True)
    server.stop()
    return 0


def _run_hook_worker(
    args: argparse.Namespace, settings: Settings, temporal: TemporalSettings
) -> int:
    from backend.domains.digs.hook_worker import run_hook_worker
    from backend.runtime.logging_setup import configure_logging

    settings.paths.ensure()
    queue = "".join(c if c.isalnum() or c in "._-" else "_" for c in args.task_queue)
    configure_logging(settings.paths.logs / f"hook-worker-{queue}.log", settings.log_level)
    return asyncio.run(
        run_hook_worker(
            args.task_queue, stop_with=args.stop_with, settings=settings, temporal=temporal
        )
    )


def _run_codec(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    from backend.runtime.codec_keys import add_key_to_file, new_key_line

    if args.file is None:
        print(new_key_line(args.id), flush=True)
        return 0
    key_id = add_key_to_file(args.file.expanduser(), args.id)
    print(
        f"added key {key_id} to {args.file}: it encrypts from now on, the older keys still decrypt"
        f" (FLIGHTDECK_CODEC_KEY_FILE={args.file}; restart the backend and workers)",
        flush=True,
    )
    return 0


def _run_audit(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    from backend.store.audit_export import export_audit, verify_audit

    if args.audit_command == "verify":
        report = verify_audit(settings.paths.db)
        for problem in report.problems:
            print(problem, flush=True)
        if report.intact:
            print(f"audit log intact: {report.entries} entries, head {report.head}", flush=True)
            return 0
        print(
            f"audit log NOT intact: {len(report.problems)} problems in {report.entries} entries",
            flush=True,
        )
        return 1
    count = export_audit(settings.paths.db, args.output)
    if args.output is not None:
        print(f"wrote {count} entries to {args.output}", flush=True)
    return 0


def _run_token(args: argparse.Namespace, settings: Settings, temporal: TemporalSettings) -> int:
    from backend.store.database import Database
    from backend.store.tokens import TokenExists, TokenRepository

    async def run() -> int:
        settings.paths.ensure()
        database = await Database.open(settings.paths.db)
        try:
            tokens = TokenRepository(database)
            if args.token_command == "add":
                try:
                    value = await tokens.add(args.name, [Role(r) for r in dict.fromkeys(args.role)])
                except ValueError as err:
                    reason = str(err).splitlines()[-1].strip()
                    raise ConfigError(f"cannot use {args.name!r} as a name: {reason}") from None
                except TokenExists:
                    raise ConfigError(
                        f"{args.name} has a token already; revoke it first"
                        f" (flightdeck token revoke {args.name})"
                    ) from None
                print(value, flush=True)
                print(
                    f"token for {args.name} ({', '.join(dict.fromkeys(args.role))}): shown once,"
                    " keep it in a file only they can read",
                    file=sys.stderr,
                    flush=True,
                )
                return 0
            if args.token_command == "list":
                for info in await tokens.list():
                    state = (
                        f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
                    )
                    roles = ",".join(info.roles)
                    print(f"{info.name}\t{roles}\t{info.created_at:%Y-%m-%d %H:%M}\t{state}")
                return 0
            if not await tokens.revoke(args.name):
                raise ConfigError(f"{args.name} has no token in force")
            print(f"revoked the token of {args.name}", flush=True)
            return 0
        finally:
            await database.close()

    return asyncio.run(run())


if __name__ == "__main__":
    main()
