"""Policy in rego, evaluated by the `opa` binary.

The plan goes to OPA shaped like `terraform show -json` (`resource_changes` with
`change.actions`, `variables` as `{name: {value}}`), so rego written for terraform plans works.
The query (`data.flightdeck.policy` by default) answers with an object:

    {"deny": [{"id": ..., "msg": ..., "resources": [...]}, ...],
     "checks": [{"id": ..., "description": ...}, ...]}

Every check without a deny passed; every deny id failed (several denies with one id are one
failed result). Plain string denies (conftest style) are failures of the rule `deny`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from backend.domains.infra.plan import ChangeAction, Plan, PolicyReport, PolicyResult
from backend.domains.infra.providers import InvalidConfiguration, RunnerFailed, Workspace

DEFAULT_QUERY = "data.flightdeck.policy"
"""The rego package whose `deny` and `checks` are the verdicts."""

INPUT_FILE = "policy-input.json"
"""The input document OPA evaluated, kept in the run dir to rerun it by hand."""

PLAIN_DENY_ID = "deny"
"""The rule id given to plain string denies."""

_TERRAFORM_ACTIONS: dict[ChangeAction, list[str]] = {
    ChangeAction.CREATE: ["create"],
    ChangeAction.UPDATE: ["update"],
    ChangeAction.DELETE: ["delete"],
    ChangeAction.REPLACE: ["delete", "create"],
    ChangeAction.NOOP: ["no-op"],
    ChangeAction.READ: ["read"],
}


def opa_input(plan: Plan, variables: dict[str, str]) -> dict[str, Any]:
    """The input document for OPA: the plan as `terraform show -json` gives it."""
    return {
        "resource_changes": [
            {
                "address": change.address,
                "mode": "data" if change.action == ChangeAction.READ else "managed",
                "type": change.type,
                "name": change.name,
                "change": {
                    "actions": _TERRAFORM_ACTIONS[change.action],
                    "before": change.before,
                    "after": change.after,
                },
            }
            for change in plan.changes
        ],
        "variables": {name: {"value": value} for name, value in variables.items()},
    }


class OpaDeny(BaseModel):
    """One `deny` entry: the rule it breaks, what is wrong and which resources."""

    id: str
    msg: str
    resources: list[str] = []


class OpaCheck(BaseModel):
    """One `checks` entry: a rule the policy evaluates, and what it checks."""

    id: str
    description: str = ""


class OpaDecision(BaseModel):
    """The query's value."""

    deny: list[OpaDeny | str] = []
    checks: list[OpaCheck] = []


def decision_results(decision: OpaDecision) -> list[PolicyResult]:
    """One result per check (passed unless denied), then one per denied id no check names."""
    denies: dict[str, list[OpaDeny]] = {}
    for entry in decision.deny:
        deny = OpaDeny(id=PLAIN_DENY_ID, msg=entry) if isinstance(entry, str) else entry
        denies.setdefault(deny.id, []).append(deny)
    results: list[PolicyResult] = []
    for check in decision.checks:
        if any(r.id == check.id for r in results):
            continue
        if check.id in denies:
            results.append(_failed(check.id, denies.pop(check.id)))
        else:
            results.append(
                PolicyResult(id=check.id, passed=True, message=check.description or check.id)
            )
    results.extend(_failed(rule_id, found) for rule_id, found in denies.items())
    return results


def _failed(rule_id: str, denies: list[OpaDeny]) -> PolicyResult:
    """A failed result merging every deny of one rule."""
    messages = dict.fromkeys(d.msg for d in denies)
    resources = dict.fromkeys(r for d in denies for r in d.resources)
    return PolicyResult(
        id=rule_id, passed=False, message="; ".join(messages), resources=list(resources)
    )


def _write_input(run_dir: Path, document: dict[str, Any]) -> Path:
    """Write the input document into the run dir atomically (a retry may be writing too)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / INPUT_FILE
    with tempfile.NamedTemporaryFile(
        "w", dir=run_dir, prefix=".policy-input-", suffix=".json", delete=False
    ) as handle:
        json.dump(document, handle, indent=2, default=str)
    os.replace(handle.name, target)
    return target


def _error_detail(stdout: bytes, stderr: bytes) -> str:
    """What opa said went wrong, on one line: its JSON errors, else its first stderr lines."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        errors = json.loads(stdout)["errors"]
        described = []
        for error in errors:
            location = error.get("location") or {}
            where = f"{location['file']}:{location['row']}: " if "file" in location else ""
            described.append(f"{where}{error.get('code', 'error')}: {error.get('message', '')}")
        if described:
            return "; ".join(described)
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        return "no error output"
    detail = lines[0]
    if detail.endswith(":") and len(lines) > 1:
        detail = f"{detail} {lines[1]}"
    return detail[:500]


async def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the process and reap it."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await process.wait()


class OpaPolicyEngine:
    """Policy in rego through `opa eval`. A broken policy or a missing binary is
    InvalidConfiguration; a timeout is RunnerFailed (a retry may succeed)."""

    name = "opa"

    def __init__(
        self,
        binary: str,
        policy_path: Path,
        *,
        query: str = DEFAULT_QUERY,
        timeout_seconds: float = 20.0,
    ) -> None:
        self.binary = binary
        self.policy_path = policy_path
        self.query = query
        self.timeout_seconds = timeout_seconds

    def check(self) -> None:
        """Check now (blocking) that the binary can be found and the policy exists."""
        if shutil.which(self.binary) is None:
            raise InvalidConfiguration(f"opa binary {self.binary!r} not found or not executable")
        if not self.policy_path.exists():
            raise InvalidConfiguration(f"{self.policy_path}: rego policy does not exist")

    async def evaluate(self, plan: Plan, workspace: Workspace) -> PolicyReport:
        """Every rule's verdict on `plan`; the plan's variables (after defaults) take
        precedence over the run's."""
        document = opa_input(plan, {**workspace.variables, **plan.variables})
        input_file = await asyncio.to_thread(_write_input, workspace.run_dir, document)
        stdout = await self._eval(input_file)
        return PolicyReport(engine=self.name, results=decision_results(self._decision(stdout)))

    async def _eval(self, input_file: Path) -> bytes:
        """Run `opa eval` on the input file; its stdout. The process never outlives the call
        (killed on timeout or cancellation)."""
        try:
            process = await asyncio.create_subprocess_exec(
                self.binary,
                "eval",
                "--format",
                "json",
                "--data",
                str(self.policy_path),
                "--input",
                str(input_file),
                self.query,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise InvalidConfiguration(
                f"cannot run opa binary {self.binary!r}: {error.strerror or error}"
            ) from None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout_seconds)
        except TimeoutError:
            raise RunnerFailed(
                f"opa eval did not finish within {self.timeout_seconds:g}s"
            ) from None
        finally:
            if process.returncode is None:
                await _kill(process)
        if process.returncode is not None and process.returncode < 0:
            raise RunnerFailed(f"opa eval was killed by signal {-process.returncode}")
        if process.returncode != 0:
            detail = _error_detail(stdout, stderr)
            raise InvalidConfiguration(
                f"{self.policy_path}: opa eval failed (exit {process.returncode}): {detail}"
            )
        return stdout

    def _decision(self, stdout: bytes) -> OpaDecision:
        """The query's value in opa's output; InvalidConfiguration when it is not there or
        not shaped as `{deny: [...], checks: [...]}`."""
        try:
            output = json.loads(stdout)
        except ValueError:
            raise InvalidConfiguration(
                f"{self.policy_path}: opa eval printed something that is not JSON"
            ) from None
        if not isinstance(output, dict) or not output.get("result"):
            raise InvalidConfiguration(
                f"{self.policy_path}: {self.query} is undefined (no such package or rule?)"
            )
        try:
            value = output["result"][0]["expressions"][0]["value"]
        except (KeyError, IndexError, TypeError):
            raise InvalidConfiguration(
                f"{self.policy_path}: opa eval output has no result expression"
            ) from None
        try:
            return OpaDecision.model_validate(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidConfiguration(
                f"{self.policy_path}: {self.query} should be {{deny: [...], checks: [...]}}; "
                f"{where}: {first['msg']}"
            ) from None
