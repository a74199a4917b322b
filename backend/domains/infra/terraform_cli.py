"""The real terraform runner: the `terraform` (or `tofu`) binary, driven through its
machine-readable interfaces (`plan -json`, `show -json`, `apply -json`, `output -json`).

Plans are saved as `<run_dir>/plan.tfplan` and applied from there, so what is applied is what
was approved. When the plan file is gone (another worker planned) or terraform finds it stale
(an earlier attempt applied part of it), apply plans again and goes on only if what is left is
part of the approved plan. A cancelled call interrupts terraform the way a terminal would
(SIGINT, then SIGKILL after a grace period) and always reaps it.

A running terraform is recorded in `<run_dir>/terraform-<pid>.pid` (its pid and start time),
removed once it is reaped. A worker killed outright leaves it behind with its terraform still
running (it has its own session); the next command of the run, on any worker sharing the run
dir, stops that terraform first. On Linux terraform also gets SIGTERM when its worker dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.domains.infra.plan import (
    ApplyResult,
    ChangeAction,
    Outputs,
    Plan,
    ResourceChange,
    plan_digest,
    unapproved_changes,
)
from backend.domains.infra.providers import (
    InvalidConfiguration,
    PlanChanged,
    ProgressCallback,
    RunnerFailed,
    Workspace,
)
from backend.providers.processes import process_start

PLAN_FILE_NAME = "plan.tfplan"
"""The saved plan in the run dir (`plan -out`), applied by `apply`."""
SENSITIVE = "(sensitive)"
"""What a value terraform marks sensitive reads as in a Plan (plans are kept in run history)."""

PID_FILE_PATTERN = "terraform-*.pid"
"""A running terraform's pid file in the run dir: `terraform-<pid>.pid`, JSON {pid, start}."""
HIDDEN_ENV_PREFIXES = ("FLIGHTDECK_", "TEMPORAL_")
"""The worker's own settings and secrets: not passed on to terraform and its plugins."""

_STREAM_LIMIT = 64 * 1024 * 1024
"""`show -json` prints the whole plan on one line; allow long lines."""
_ACTIONS: dict[tuple[str, ...], ChangeAction] = {
    ("create",): ChangeAction.CREATE,
    ("update",): ChangeAction.UPDATE,
    ("delete",): ChangeAction.DELETE,
    ("delete", "create"): ChangeAction.REPLACE,
    ("create", "delete"): ChangeAction.REPLACE,
    ("no-op",): ChangeAction.NOOP,
    ("read",): ChangeAction.READ,
    ("forget",): ChangeAction.DELETE,
}
_RETRYABLE_HINTS = (
    "could not connect",
    "connection refused",
    "connection reset",
    "no such host",
    "timeout",
    "timed out",
    "tls handshake",
    "temporary failure",
    "temporarily unavailable",
    "service unavailable",
    "too many requests",
    "rate limit",
    "failed to request discovery document",
    "error acquiring the state lock",
    "throttl",
    "rate exceeded",
    "requests per",
    "per minute",
    "per second",
)
_CONFIGURATION_HINTS = (
    "configuration",
    "unsupported block type",
    "unsupported argument",
    "missing required argument",
    "argument or block definition required",
    "invalid ",
    "undeclared",
    "no value for required variable",
    "duplicate ",
    "module not installed",
    "does not have a provider",
    "failed to resolve provider",
    "incompatible provider version",
    "inconsistent dependency lock file",
    "empty directory",
    "invalid value",
    "code = invalidargument",
    "permission denied",
    "code = permissiondenied",
    "access denied",
    "accessdenied",
    "not authorized",
    "unauthorized",
    "forbidden",
    "insufficient permissions",
    "quota exceeded",
    "exceeded quota",
    "exceeds quota",
    "exceeded your quota",
)
_PROVIDER_LINE = re.compile(r"^- (?:Installing|Using previously-installed) (\S+) v(\S+?)\.*$")


def is_configuration_error(output: str) -> bool:
    """Whether terraform's error output says the configuration (files, variables, providers
    named, values the provider refuses) or the credentials' permissions or quota are wrong,
    which a retry cannot fix; network, registry, rate-limit and lock trouble is not."""
    text = output.lower()
    if any(hint in text for hint in _RETRYABLE_HINTS):
        return False
    return any(hint in text for hint in _CONFIGURATION_HINTS)


def change_action(actions: list[str], address: str = "") -> ChangeAction:
    """terraform's `change.actions` folded to one ChangeAction (`["delete", "create"]` is a
    replace; `forget` counts as a delete: the resource leaves terraform's hands)."""
    action = _ACTIONS.get(tuple(actions))
    if action is None:
        raise InvalidConfiguration(f"{address or 'a resource'}: unsupported plan action {actions}")
    return action


def parse_plan_json(document: Mapping[str, Any]) -> list[ResourceChange]:
    """The resource changes of `terraform show -json PLANFILE`, sensitive values masked."""
    changes: list[ResourceChange] = []
    for entry in document.get("resource_changes") or []:
        address = str(entry.get("address", ""))
        change = entry.get("change") or {}
        changes.append(
            ResourceChange(
                address=address,
                type=str(entry.get("type", "")),
                name=str(entry.get("name", "")),
                action=change_action(list(change.get("actions") or ["no-op"]), address),
                before=_masked(change.get("before"), change.get("before_sensitive")),
                after=_masked(change.get("after"), change.get("after_sensitive")),
            )
        )
    return changes


def parse_plan_variables(
    document: Mapping[str, Any], requested: Mapping[str, str]
) -> dict[str, str]:
    """The variables a plan was made with (`show -json`'s `variables`: defaults, *.tfvars and
    `-var`s), non-strings as JSON, sensitive ones masked; `requested` fills in what it lacks."""
    variables = dict(requested)
    root = (document.get("configuration") or {}).get("root_module") or {}
    declared = root.get("variables") or {}
    for name, entry in (document.get("variables") or {}).items():
        if not isinstance(entry, dict) or "value" not in entry:
            continue
        value = entry["value"]
        declaration = declared.get(name)
        if isinstance(declaration, dict) and declaration.get("sensitive"):
            variables[name] = SENSITIVE
        else:
            variables[name] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return variables


def parse_outputs_json(document: Mapping[str, Any]) -> Outputs:
    """`terraform output -json` (name → {value, type, sensitive}) as Outputs."""
    values: dict[str, Any] = {}
    sensitive: list[str] = []
    for name, output in document.items():
        entry = output if isinstance(output, dict) else {"value": output}
        values[name] = entry.get("value")
        if entry.get("sensitive"):
            sensitive.append(name)
    return Outputs(values=values, sensitive=sensitive)


@dataclass
class CommandResult:
    """A finished terraform command: exit status, output, and its JSON lines (with `-json`)."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def error_message(self) -> str:
        """The first error, on one line: an error diagnostic's summary and detail, else the
        first `Error:` block of the text output, else the last line written."""
        for diagnostic in self._error_diagnostics():
            summary = str(diagnostic.get("summary", "")).strip()
            detail = str(diagnostic.get("detail", "")).strip()
            return _one_line(f"{summary}: {detail}" if detail else summary)
        text = self.stderr + "\n" + self._plain_stdout()
        lines = [_unboxed(line) for line in text.splitlines()]
        for index, line in enumerate(lines):
            if line.startswith("Error: "):
                summary = line.removeprefix("Error: ").strip()
                detail = next(
                    (x for x in lines[index + 1 :] if x.strip() and not x[0].isspace()), ""
                )
                return _one_line(f"{summary}: {detail}" if detail else summary)
        last = [line for line in lines if line.strip()]
        return _one_line(last[-1]) if last else f"exit status {self.returncode}"

    def error_text(self) -> str:
        """Everything it said about the failure (diagnostics and plain output), to classify."""
        parts = [
            f"{d.get('summary', '')}\n{d.get('detail', '')}" for d in self._error_diagnostics()
        ]
        return "\n".join([*parts, self.stderr, self._plain_stdout()])

    def _error_diagnostics(self) -> list[dict[str, Any]]:
        found = []
        for message in self.messages:
            diagnostic = message.get("diagnostic")
            if (
                message.get("type") == "diagnostic"
                and isinstance(diagnostic, dict)
                and diagnostic.get("severity") == "error"
            ):
                found.append(diagnostic)
        return found

    def _plain_stdout(self) -> str:
        return "\n".join(
            line for line in self.stdout.splitlines() if not line.lstrip().startswith("{")
        )


class TerraformCli:
    """A `TerraformRunner` over the terraform (or OpenTofu) binary.

    `env` is added to the worker's environment (provider credentials, `TF_CLI_CONFIG_FILE`),
    less the worker's own `FLIGHTDECK_*` and `TEMPORAL_*` variables; `TF_IN_AUTOMATION=1` and
    `TF_INPUT=0` are always set. `stop_grace_seconds` is how long a cancelled command may take
    to stop after SIGINT (terraform then writes its state) before it is killed.
    """

    def __init__(
        self,
        binary: str,
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        stop_grace_seconds: float = 60.0,
    ) -> None:
        self.binary = binary
        self.name = name or Path(binary).name
        self.env = dict(env or {})
        self.stop_grace_seconds = stop_grace_seconds

    async def init(self, workspace: Workspace) -> str:
        """`terraform init`; a summary naming the providers installed."""
        await asyncio.to_thread(_require_configuration, workspace.directory)
        result = await self._run(workspace, ["init", "-input=false", "-no-color"])
        if result.returncode != 0:
            raise self._failure("init", result)
        if "empty directory" in result.stdout:
            raise InvalidConfiguration(f"no terraform configuration in {workspace.directory}")
        providers = [
            f"{m.group(1)} {m.group(2)}"
            for line in result.stdout.splitlines()
            if (m := _PROVIDER_LINE.match(line.strip()))
        ]
        installed = f" ({', '.join(providers)})" if providers else ""
        return f"{self.name}: initialized {workspace.directory}{installed}"

    async def plan(self, workspace: Workspace, progress: ProgressCallback) -> Plan:
        """`terraform plan` into the run dir's plan file, read back with `show -json`.
        Progress counts planned changes as terraform reports them (the total is not known
        until it is done)."""
        plan_file = await self._plan_file(workspace)
        return await self._plan(workspace, plan_file, progress)

    async def apply(
        self, workspace: Workspace, plan: Plan, progress: ProgressCallback
    ) -> ApplyResult:
        """`terraform apply` of the saved plan (planned again when it is missing or stale, and
        then only if what is left is part of `plan`: else PlanChanged)."""
        plan_file = await self._plan_file(workspace)
        total = len(plan.effective)
        resumed_from: int | None = None
        if await asyncio.to_thread(plan_file.is_file):
            saved = Plan(changes=parse_plan_json(await self._show(workspace, plan_file)))
            if not unapproved_changes(saved.changes, plan, absent_is_unknown=True):
                resumed_from = total - len(saved.effective)
        if resumed_from is None:
            resumed_from = await self._plan_again(workspace, plan, plan_file, progress)
        result = await self._apply_file(workspace, plan_file, total, resumed_from, progress)
        if result.returncode != 0 and "saved plan is stale" in result.error_text().lower():
            resumed_from = await self._plan_again(workspace, plan, plan_file, progress)
            result = await self._apply_file(workspace, plan_file, total, resumed_from, progress)
        if result.returncode != 0:
            raise self._failure("apply", result)
        progress(total, total)
        return ApplyResult(applied=total, total=total, resumed_from=resumed_from)

    async def outputs(self, workspace: Workspace) -> Outputs:
        """`terraform output -json`."""
        result = await self._run(workspace, ["output", "-json"])
        if result.returncode != 0:
            raise RunnerFailed(f"{self.name} output failed: {result.error_message()}")
        try:
            document = json.loads(result.stdout or "{}")
        except json.JSONDecodeError as error:
            raise RunnerFailed(f"{self.name} output -json printed no JSON: {error}") from error
        if not isinstance(document, dict):
            raise RunnerFailed(f"{self.name} output -json printed no JSON object")
        return parse_outputs_json(document)

    async def _plan(
        self, workspace: Workspace, plan_file: Path, progress: ProgressCallback
    ) -> Plan:
        planned = 0
        summarised = False

        def on_message(message: dict[str, Any]) -> None:
            # The total is known only at the end: until then one more is always to come.
            nonlocal planned, summarised
            kind = message.get("type")
            if kind == "planned_change":
                planned += 1
                progress(planned, planned + 1)
            elif kind == "change_summary":
                summarised = True
                progress(planned, planned)

        args = ["plan", "-input=false", "-json", "-detailed-exitcode", f"-out={plan_file}"]
        for key, value in sorted(workspace.variables.items()):
            args += ["-var", f"{key}={value}"]
        result = await self._run(workspace, args, on_message)
        if result.returncode not in (0, 2):
            raise self._failure("plan", result)
        document = await self._show(workspace, plan_file)
        changes = parse_plan_json(document)
        if not summarised:
            progress(planned, planned)
        return Plan(
            changes=changes,
            variables=parse_plan_variables(document, workspace.variables),
            digest=plan_digest(changes),
        )

    async def _plan_again(
        self, workspace: Workspace, approved: Plan, plan_file: Path, progress: ProgressCallback
    ) -> int:
        """Plan into `plan_file` again; how many approved changes are already done. PlanChanged
        (and no plan file left behind) when the new plan holds a change not approved."""
        total = len(approved.effective)
        fresh = await self._plan(workspace, plan_file, lambda _done, _total: progress(0, total))
        stale = unapproved_changes(fresh.changes, approved, absent_is_unknown=True)
        if stale:
            await asyncio.to_thread(plan_file.unlink, missing_ok=True)
            named = ", ".join(c.address for c in stale[:3])
            more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
            raise PlanChanged(
                f"plan is stale: {named}{more} changed since it was approved; plan again"
            )
        return total - len(fresh.effective)

    async def _apply_file(
        self,
        workspace: Workspace,
        plan_file: Path,
        total: int,
        resumed_from: int,
        progress: ProgressCallback,
    ) -> CommandResult:
        done = resumed_from

        def on_message(message: dict[str, Any]) -> None:
            nonlocal done
            kind = message.get("type")
            hook = message.get("hook") or {}
            if kind == "apply_complete" and hook.get("action") != "read":
                done = min(total, done + 1)
                progress(done, total)
            elif kind in ("apply_start", "apply_progress"):
                progress(done, total)

        args = ["apply", "-input=false", "-json", str(plan_file)]
        return await self._run(workspace, args, on_message)

    async def _show(self, workspace: Workspace, plan_file: Path) -> dict[str, Any]:
        result = await self._run(workspace, ["show", "-json", str(plan_file)])
        if result.returncode != 0:
            raise RunnerFailed(f"{self.name} show failed: {result.error_message()}")
        try:
            document = json.loads(result.stdout)
        except json.JSONDecodeError as error:
            raise RunnerFailed(f"{self.name} show -json printed no JSON: {error}") from error
        if not isinstance(document, dict):
            raise RunnerFailed(f"{self.name} show -json printed no JSON object")
        return document

    async def _plan_file(self, workspace: Workspace) -> Path:
        return await asyncio.to_thread(_prepare_plan_file, workspace.run_dir)

    def _failure(self, command: str, result: CommandResult) -> Exception:
        message = f"{self.name} {command} failed: {result.error_message()}"
        if is_configuration_error(result.error_text()):
            return InvalidConfiguration(message)
        return RunnerFailed(message)

    async def _run(
        self,
        workspace: Workspace,
        args: list[str],
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> CommandResult:
        """Run one terraform command in the workspace, streaming its JSON lines to
        `on_message`; cancelled (or failing in a callback), it stops the process first."""
        binary = await asyncio.to_thread(self._resolve_binary)
        if not await asyncio.to_thread(workspace.directory.is_dir):
            raise InvalidConfiguration(
                f"configuration directory {workspace.directory} does not exist"
            )
        await self._stop_leftovers(workspace.run_dir)
        try:
            process = await asyncio.create_subprocess_exec(
                binary,
                *args,
                cwd=workspace.directory,
                env=self.environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
                limit=_STREAM_LIMIT,
            )
        except OSError as error:
            raise InvalidConfiguration(f"cannot run {binary}: {error.strerror}") from error
        assert process.stdout is not None and process.stderr is not None
        stderr = asyncio.ensure_future(process.stderr.read())
        lines: list[str] = []
        messages: list[dict[str, Any]] = []
        pid_file: Path | None = None
        try:
            pid_file = await asyncio.to_thread(_write_pid_file, workspace.run_dir, process.pid)
            while raw := await process.stdout.readline():
                line = raw.decode(errors="replace")
                lines.append(line)
                message = _json_message(line)
                if message is not None:
                    messages.append(message)
                    if on_message is not None:
                        on_message(message)
            returncode = await process.wait()
            errors = (await stderr).decode(errors="replace")
        except BaseException:
            await self._stop(process)
            stderr.cancel()
            raise
        finally:
            if pid_file is not None and process.returncode is not None:
                with contextlib.suppress(OSError):
                    pid_file.unlink(missing_ok=True)
        return CommandResult(returncode, "".join(lines), errors, messages)

    def environment(self) -> dict[str, str]:
        """terraform's environment: the worker's without its own settings and secrets
        (`FLIGHTDECK_*`, `TEMPORAL_*`), then `env`, then the automation switches."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().startswith(HIDDEN_ENV_PREFIXES)
        }
        return {**inherited, **self.env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}

    async def _stop_leftovers(self, run_dir: Path) -> None:
        """Stop the terraform an earlier attempt of this run left running (its worker died):
        SIGINT, then SIGKILL to its process group after the grace period."""
        for pid_file, pid, start in await asyncio.to_thread(_leftover_processes, run_dir):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)
            if not await _gone(pid, start, self.stop_grace_seconds):
                _kill_leftover_group(pid)
                if not await _gone(pid, start, _KILL_WAIT_SECONDS):
                    raise RunnerFailed(
                        f"{self.name} process {pid} left running by an earlier attempt "
                        "does not stop"
                    )
            await asyncio.to_thread(pid_file.unlink, missing_ok=True)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """SIGINT (terraform then stops gracefully and saves state), SIGKILL to its whole
        process group after the grace period; always reaped, even if cancelled again."""
        try:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGINT)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), self.stop_grace_seconds)
        finally:
            if process.returncode is None:
                _kill_process_group(process)
            await _reap(process)

    def _resolve_binary(self) -> str:
        found = shutil.which(self.binary) if os.sep not in self.binary else self.binary
        if found is None or not os.path.isfile(found):
            raise InvalidConfiguration(f"terraform binary not found at {self.binary}")
        if not os.access(found, os.X_OK):
            raise InvalidConfiguration(f"terraform binary {found} is not executable")
        return found


def _require_configuration(directory: Path) -> None:
    if not directory.is_dir():
        raise InvalidConfiguration(f"configuration directory {directory} does not exist")
    if not any(directory.glob("*.tf")) and not any(directory.glob("*.tf.json")):
        raise InvalidConfiguration(f"no terraform files (*.tf) in {directory}")


def _prepare_plan_file(run_dir: Path) -> Path:
    """The plan file's absolute path, its run dir created."""
    run_dir = run_dir.absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir / PLAN_FILE_NAME


_KILL_WAIT_SECONDS = 10.0
"""How long a SIGKILLed leftover terraform may take to disappear."""
_POLL_SECONDS = 0.02
_PR_SET_PDEATHSIG = 1


def _write_pid_file(run_dir: Path, pid: int) -> Path | None:
    """Record a terraform just started in the run dir; None when it is gone already."""
    start = process_start(pid)
    if start is None:
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"terraform-{pid}.pid"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"pid": pid, "start": start}))
    os.replace(tmp, path)
    return path


def _leftover_processes(run_dir: Path) -> list[tuple[Path, int, str]]:
    """(pid file, pid, start) of the terraform processes the run dir's pid files name that
    still run; pid files of processes gone (or pids reused since) are removed."""
    found: list[tuple[Path, int, str]] = []
    if not run_dir.is_dir():
        return found
    for path in sorted(run_dir.glob(PID_FILE_PATTERN)):
        try:
            record = json.loads(path.read_text())
            pid, start = int(record["pid"]), str(record["start"])
        except FileNotFoundError:
            continue
        except (OSError, ValueError, TypeError, KeyError):
            pid, start = 0, ""
        if pid > 0 and pid != os.getpid() and process_start(pid) == start:
            found.append((path, pid, start))
        else:
            path.unlink(missing_ok=True)
    return found


async def _gone(pid: int, start: str, seconds: float) -> bool:
    """Whether the process (pid, start) is gone within `seconds` (polled: not our child)."""
    deadline = time.monotonic() + seconds
    while await asyncio.to_thread(process_start, pid) == start:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True


def _kill_leftover_group(pid: int) -> None:
    """SIGKILL a leftover terraform and its plugins (its own session: its group is its pid)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@functools.cache
def _prctl() -> Any:
    """libc's prctl, on Linux; None elsewhere or when it cannot be found."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a `preexec_fn` that has the child get SIGTERM when the worker that started it
    dies (terraform then stops as on SIGINT); None where prctl is not to be had. Everything is
    looked up here, in the parent: between fork and exec the child only calls prctl, getppid
    and, if the worker died meanwhile, kill. (The kernel sends it when the thread that forked
    exits: the event loop's thread.)"""
    prctl = _prctl()
    if prctl is None:
        return None
    parent, sigterm = os.getpid(), int(signal.SIGTERM)
    getpid, getppid, kill = os.getpid, os.getppid, os.kill

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm, 0, 0)
        if getppid() != parent:
            kill(getpid(), sigterm)

    return set_parent_death_signal


def _kill_process_group(process: asyncio.subprocess.Process) -> None:
    """SIGKILL terraform and its provider plugins (its own session, so its own group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.kill()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for the process to be collected; a cancellation meanwhile is re-raised after."""
    waiting = asyncio.ensure_future(process.wait())
    cancelled = False
    while not waiting.done():
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            if process.returncode is None:
                _kill_process_group(process)
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def _json_message(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def _masked(value: Any, sensitive: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if sensitive is True:
        return {key: SENSITIVE for key in value}
    masked = _mask(value, sensitive)
    return masked if isinstance(masked, dict) else None


def _mask(value: Any, sensitive: Any) -> Any:
    if sensitive is True:
        return SENSITIVE
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return {key: _mask(item, sensitive.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        return [
            _mask(item, sensitive[index] if index < len(sensitive) else None)
            for index, item in enumerate(value)
        ]
    return value


def _unboxed(line: str) -> str:
    """A line of terraform's text output without the box drawing around diagnostics."""
    return line.lstrip("│╷╵").removeprefix(" ") if line[:1] in "│╷╵" else line


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
