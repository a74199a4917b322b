"""The sandbox terraform runner: plans and applies a declarative resource file against a local
JSON state, with terraform's semantics and none of its dependencies.

State lives in `<state_dir>/<slug>-<hash>.json`, one file per configuration directory, rewritten
atomically after every resource applied, so an interrupted apply leaves exactly what it did and
the next attempt carries on. Apply holds an exclusive `flock` on `<slug>-<hash>.lock`. Every file
read and write runs in a thread (`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

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
from backend.domains.infra.resource_file import (
    ResourceFile,
    computed_attributes,
    load_resource_file,
)

PLAN_FILE_NAME = "plan.json"
"""The plan's JSON, kept in the run dir for the curious (apply uses the plan it is given)."""

_T = TypeVar("_T")


class StateResource(BaseModel):
    """One resource as the sandbox state holds it: what was declared and what was computed."""

    type: str
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    """The declared attributes, variables substituted, tags under `tags`."""
    computed: dict[str, Any] = Field(default_factory=dict)
    """What the pretend provider made up once it existed (`id`, `endpoint`, ...)."""

    @property
    def address(self) -> str:
        """`type.name`."""
        return f"{self.type}.{self.name}"

    @property
    def full(self) -> dict[str, Any]:
        """Declared and computed attributes together (terraform's view of an existing one)."""
        return {**self.computed, **self.attributes}


class SandboxState(BaseModel):
    """The sandbox's state of one configuration directory."""

    version: int = 1
    directory: str = ""
    serial: int = 0
    """Bumped on every write."""
    resources: list[StateResource] = Field(default_factory=list)

    def by_address(self) -> dict[str, StateResource]:
        """The resources keyed by address, in the order they were applied."""
        return {r.address: r for r in self.resources}

    def with_change(
        self, change: ResourceChange, desired: dict[str, StateResource]
    ) -> SandboxState:
        """The state after carrying out one change (a create or update takes `desired`'s)."""
        resources = self.by_address()
        if change.action == ChangeAction.DELETE:
            resources.pop(change.address, None)
        else:
            resources[change.address] = desired[change.address]
        return self.model_copy(
            update={"serial": self.serial + 1, "resources": list(resources.values())}
        )


@dataclass(frozen=True)
class _Configuration:
    """A loaded resource file with its effective variables and desired resources."""

    file: ResourceFile
    variables: dict[str, str]
    desired: dict[str, StateResource]


def diff(
    desired: dict[str, StateResource], current: dict[str, StateResource]
) -> list[ResourceChange]:
    """What it takes to go from `current` to `desired`, terraform style: creates, updates and
    no-ops in declaration order, then deletes of what is no longer declared."""
    changes: list[ResourceChange] = []
    for address, want in desired.items():
        have = current.get(address)
        if have is None:
            action, before, after = ChangeAction.CREATE, None, want.attributes
        elif have.attributes != want.attributes:
            action, before, after = ChangeAction.UPDATE, have.full, want.full
        else:
            action, before, after = ChangeAction.NOOP, have.full, have.full
        changes.append(
            ResourceChange(
                address=address,
                type=want.type,
                name=want.name,
                action=action,
                before=before,
                after=after,
            )
        )
    for address, have in current.items():
        if address not in desired:
            changes.append(
                ResourceChange(
                    address=address,
                    type=have.type,
                    name=have.name,
                    action=ChangeAction.DELETE,
                    before=have.full,
                    after=None,
                )
            )
    return changes


class SandboxTerraformRunner:
    """A `TerraformRunner` over resource files and local state (the default runner).

    `step_seconds` paces apply (one step per resource; plan takes a quarter step per resource)
    so a demo can watch progress and cancel part-way.
    """

    name = "sandbox"

    def __init__(self, state_dir: Path, step_seconds: float = 0.0) -> None:
        self.state_dir = state_dir
        self.step_seconds = step_seconds

    def state_path(self, directory: Path) -> Path:
        """The state file of a configuration directory."""
        return self.state_dir / f"{_state_key(directory)}.json"

    def lock_path(self, directory: Path) -> Path:
        """The lock file apply holds (`flock`) while it changes the directory's state."""
        return self.state_dir / f"{_state_key(directory)}.lock"

    async def init(self, workspace: Workspace) -> str:
        """Parse and check the resource file and the variables; a one-line summary."""
        config = await asyncio.to_thread(_load_configuration, workspace)
        await asyncio.to_thread(self._read_state, workspace.directory)
        resources = _count(len(config.file.resources), "resource")
        outputs = _count(len(config.file.outputs), "output")
        return f"sandbox: {resources}, {outputs} in {workspace.directory}"

    async def plan(self, workspace: Workspace, progress: ProgressCallback) -> Plan:
        """Diff the declared resources against the state; the plan is also written to the run
        dir as `plan.json`."""
        config = await asyncio.to_thread(_load_configuration, workspace)
        state = await asyncio.to_thread(self._read_state, workspace.directory)
        changes = diff(config.desired, state.by_address())
        progress(0, len(changes))
        for done in range(1, len(changes) + 1):
            await asyncio.sleep(self.step_seconds / 4)
            progress(done, len(changes))
        plan = Plan(changes=changes, variables=config.variables, digest=plan_digest(changes))
        plan_file = workspace.run_dir / PLAN_FILE_NAME
        await asyncio.to_thread(_write_atomically, plan_file, plan.model_dump_json(indent=2))
        return plan

    async def apply(
        self, workspace: Workspace, plan: Plan, progress: ProgressCallback
    ) -> ApplyResult:
        """Carry out what is left of `plan`, one resource at a time, saving the state after each.

        PlanChanged when something left to do is not in the plan (the file, the variables or
        the state moved since approval). Cancelling stops between resources; what was applied
        stays applied and the next attempt counts it in `resumed_from`.
        """
        config = await asyncio.to_thread(_load_configuration, workspace)
        async with self._locked(workspace.directory):
            state = await asyncio.to_thread(self._read_state, workspace.directory)
            current = diff(config.desired, state.by_address())
            stale = unapproved_changes(current, plan)
            if stale:
                raise PlanChanged(_stale_message(stale))
            todo = Plan(changes=current).effective
            total = len(plan.effective)
            resumed_from = done = total - len(todo)
            progress(done, total)
            for change in todo:
                await asyncio.sleep(self.step_seconds)
                state = state.with_change(change, config.desired)
                await _in_thread_to_completion(self._write_state, workspace.directory, state)
                done += 1
                progress(done, total)
        return ApplyResult(applied=done, total=total, resumed_from=resumed_from)

    async def outputs(self, workspace: Workspace) -> Outputs:
        """The declared outputs, resolved against the state (None for a resource not there)."""
        config = await asyncio.to_thread(_load_configuration, workspace)
        state = await asyncio.to_thread(self._read_state, workspace.directory)
        resources = state.by_address()

        def attribute(address: str, name: str) -> Any:
            resource = resources.get(address)
            return None if resource is None else resource.full.get(name)

        return Outputs(
            values=config.file.resolve_outputs(config.variables, attribute),
            sensitive=[o.name for o in config.file.outputs if o.sensitive],
        )

    @asynccontextmanager
    async def _locked(self, directory: Path) -> AsyncIterator[None]:
        lock = _StateLock(directory)
        try:
            await _in_thread_to_completion(lambda: lock.acquire(self.lock_path(directory)))
            yield
        finally:
            lock.release()

    def _read_state(self, directory: Path) -> SandboxState:
        path = self.state_path(directory)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return SandboxState(directory=os.path.abspath(directory))
        except OSError as error:
            raise RunnerFailed(f"cannot read sandbox state {path}: {error}") from error
        try:
            return SandboxState.model_validate_json(text)
        except ValidationError as error:
            problem = error.errors()[0]["msg"] if error.errors() else "unreadable"
            raise InvalidConfiguration(
                f"sandbox state {path} is corrupt ({problem}); move it away to start over"
            ) from error

    def _write_state(self, directory: Path, state: SandboxState) -> None:
        _write_atomically(self.state_path(directory), state.model_dump_json(indent=2))


class _StateLock:
    """An exclusive, non-blocking `flock` on a lock file; closing the descriptor releases it."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._fd: int | None = None

    def acquire(self, path: Path) -> None:
        """Take the lock on `path` (file work: run it in a thread); RunnerFailed when held."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunnerFailed(f"state of {self._directory} is locked by another run") from None
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (closing a descriptor does not block, so this is loop-safe)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _load_configuration(workspace: Workspace) -> _Configuration:
    file = load_resource_file(workspace.directory)
    variables = file.effective_variables(workspace.variables)
    desired = {
        r.address: _desired_resource(r.type, r.name, r.desired(variables)) for r in file.resources
    }
    return _Configuration(file=file, variables=variables, desired=desired)


def _desired_resource(type_: str, name: str, attributes: dict[str, Any]) -> StateResource:
    return StateResource(
        type=type_,
        name=name,
        attributes=attributes,
        computed=computed_attributes(type_, name, attributes),
    )


def _stale_message(stale: list[ResourceChange]) -> str:
    named = ", ".join(c.address for c in stale[:3])
    more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
    return f"plan is stale: {named}{more} changed since it was approved; plan again"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _state_key(directory: Path) -> str:
    """A readable slug of the directory's name plus a hash of its absolute path."""
    absolute = os.path.abspath(directory)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(absolute).name).strip("-")[:40] or "root"
    return f"{slug}-{hashlib.sha256(absolute.encode()).hexdigest()[:12]}"


def _write_atomically(path: Path, text: str) -> None:
    """Write a temp file beside `path`, flush it to disk, rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


async def _in_thread_to_completion(function: Callable[..., _T], *args: Any) -> _T:
    """Run `function` in a thread and wait for it to finish even when cancelled (then re-raise
    the cancellation): a state write or a lock is never left half-way or unowned."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done() and task.cancelled():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()
