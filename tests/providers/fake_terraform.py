"""A fake `terraform` for TerraformCli's tests: the subcommands and machine-readable output
Flightdeck uses (init; plan -json -detailed-exitcode -out= -var; show -json PLANFILE;
apply -json PLANFILE; output -json), over a tiny declarative config instead of HCL.

The working directory holds `fake-config.json`:

    {"variables": {"region": "aws-us-east-1"},
     "sensitive_variables": ["token"],
     "resources": [{"type": "temporalcloud_namespace", "name": "payments",
                    "attributes": {"region": "${var.region}"}, "sensitive": ["api_key"],
                    "force_new": ["region"]}],
     "outputs": {"namespace_id": {"value": "${temporalcloud_namespace.payments.id}",
                                  "sensitive": false}}}

Variables are the config's defaults overridden by `-var`s; `show -json` reports them all. An
attribute may refer to another resource (`${type.name.attr}`): unknown until that resource is
in the state, so left out of the plan's `after` (as terraform does) and resolved at apply. A
change to a `force_new` attribute plans a replace (`["delete", "create"]`), applied as a delete
(state saved) then a create.

State is `terraform.tfstate` (JSON with a `serial` bumped on every write, one write per resource
applied); a saved plan remembers the serial it was made at and is stale once it moved, like
terraform's. `apply` writes its pid to `fake-terraform.pid` and, on SIGINT, touches
`fake-terraform.interrupted`, stops and exits 1 ("Interrupt received").

Knobs, from the environment:
    FAKE_TF_FAIL            init-config | init-network | plan | apply | apply-midway |
                            apply-permission | replace-midway (after a replace's delete)
    FAKE_TF_APPLY_SECONDS   seconds each resource takes to apply (default 0)
    FAKE_TF_IGNORE_SIGINT   1: ignore SIGINT (only SIGKILL stops it)
    FAKE_TF_DUMP            a path: every command writes there the names of its environment
                            variables and its parent-death signal (Linux prctl), as JSON
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

CONFIG = Path("fake-config.json")
STATE = Path("terraform.tfstate")
PID_FILE = Path("fake-terraform.pid")
INTERRUPTED_FILE = Path("fake-terraform.interrupted")
PROVIDER = "registry.terraform.io/temporalio/temporalcloud"
REFERENCE = re.compile(r"\$\{([^}]*)\}")

_interrupted = False


class Unknown(Exception):
    """A value not known until apply (another resource's attribute, before it exists)."""


def emit(kind: str, message: str, level: str = "info", **fields: Any) -> None:
    """One line of terraform's machine-readable UI."""
    line = {"@level": level, "@message": message, "@module": "terraform.ui", "type": kind}
    print(json.dumps({**line, **fields}), flush=True)


def diagnostic(summary: str, detail: str) -> None:
    """An error diagnostic, as `-json` commands report them."""
    emit(
        "diagnostic",
        f"Error: {summary}",
        level="error",
        diagnostic={"severity": "error", "summary": summary, "detail": detail},
    )


def read_json(path: Path, default: Any) -> Any:
    """A JSON file's content, or `default` when it does not exist."""
    return json.loads(path.read_text()) if path.exists() else default


def write_json(path: Path, value: Any) -> None:
    """Write atomically (terraform never leaves half a state file either)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)


def substitute(value: Any, lookup: Any) -> Any:
    """`${...}` references in strings, through lists and mappings."""
    if isinstance(value, dict):
        return {k: substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, lookup) for v in value]
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: str(lookup(m.group(1))), value)
    return value


def resource_id(address: str) -> str:
    """The id the pretend provider gives a resource."""
    return f"{address.split('.')[-1]}-{hashlib.sha256(address.encode()).hexdigest()[:8]}"


def parse_flags(args: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(-flag=value flags, -var assignments, positional arguments)."""
    flags: dict[str, str] = {}
    variables: dict[str, str] = {}
    positional: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "-var":
            key, _, value = next(items).partition("=")
            variables[key] = value
        elif arg.startswith("-var="):
            key, _, value = arg.removeprefix("-var=").partition("=")
            variables[key] = value
        elif arg.startswith("-"):
            key, _, value = arg.lstrip("-").partition("=")
            flags[key] = value or "true"
        else:
            positional.append(arg)
    return flags, variables, positional


def dump_process(path: str) -> None:
    """What the process was started with: environment names, parent-death signal."""
    death_signal = None
    if sys.platform.startswith("linux"):
        import ctypes

        value = ctypes.c_int(0)
        if ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0) == 0:  # PR_GET_PDEATHSIG
            death_signal = value.value
    record = {"env": sorted(os.environ), "pdeathsig": death_signal}
    Path(path).write_text(json.dumps(record))


def init(args: list[str]) -> int:
    """`terraform init`: text output, errors on stderr."""
    failure = os.environ.get("FAKE_TF_FAIL")
    print("Initializing the backend...", flush=True)
    if failure == "init-config":
        sys.stderr.write(
            "\nError: Unsupported block type\n\n"
            "  on main.tf line 3:\n"
            '   3: resourcee "temporalcloud_namespace" "payments" {\n\n'
            'Blocks of type "resourcee" are not expected here. Did you mean "resource"?\n'
        )
        return 1
    if failure == "init-network":
        print(
            "Initializing provider plugins...\n- Finding latest version of temporalio/temporalcloud..."
        )
        sys.stderr.write(
            "\nError: Failed to query available provider packages\n\n"
            "Could not retrieve the list of available versions for provider "
            "temporalio/temporalcloud: could not connect to registry.terraform.io: failed to "
            "request discovery document: dial tcp: lookup registry.terraform.io: no such host\n"
        )
        return 1
    if not CONFIG.exists():
        print("\nTerraform initialized in an empty directory!\n")
        return 0
    Path(".terraform").mkdir(exist_ok=True)
    print(
        "\nInitializing provider plugins...\n"
        "- Finding latest version of temporalio/temporalcloud...\n"
        "- Installing temporalio/temporalcloud v0.0.6...\n"
        "- Installed temporalio/temporalcloud v0.0.6 (signed by a HashiCorp partner)\n\n"
        "Terraform has been successfully initialized!"
    )
    return 0


def plan(args: list[str]) -> int:
    """`terraform plan -json -detailed-exitcode -out=FILE -var k=v`."""
    flags, given, _ = parse_flags(args)
    emit("version", "Terraform 1.9.0", terraform="1.9.0", ui="1.2")
    if not Path(".terraform").is_dir():
        diagnostic("Required plugins are not installed", 'Run "terraform init".')
        return 1
    config = read_json(CONFIG, {})
    declared = config.get("variables", {})
    for name in given:
        if name not in declared:
            diagnostic(
                "Value for undeclared variable",
                f'A variable named "{name}" was assigned on the command line, but the root '
                "module does not declare a variable of that name.",
            )
            return 1
    if os.environ.get("FAKE_TF_FAIL") == "plan":
        diagnostic(
            "Reference to undeclared resource",
            'A managed resource "temporalcloud_namespace" "missing" has not been declared in '
            "the root module.",
        )
        return 1
    variables = {**declared, **given}
    state = read_json(STATE, {"serial": 0, "resources": {}, "outputs": {}})

    def lookup(expression: str) -> Any:
        if expression.startswith("var."):
            return variables[expression[4:]]
        type_, name, attribute = expression.split(".")
        existing = state["resources"].get(f"{type_}.{name}")
        if existing is None:
            raise Unknown(expression)
        return existing["attributes"][attribute]

    desired = {}
    unknown: dict[str, dict[str, Any]] = {}
    for resource in config.get("resources", []):
        address = f"{resource['type']}.{resource['name']}"
        attributes = {}
        for key, value in resource.get("attributes", {}).items():
            try:
                attributes[key] = substitute(value, lookup)
            except Unknown:
                unknown.setdefault(address, {})[key] = value
        desired[address] = {**resource, "attributes": attributes}
    changes = []
    for address, resource in desired.items():
        existing = state["resources"].get(address)
        after = resource["attributes"]
        current = existing and {k: v for k, v in existing["attributes"].items() if k != "id"}
        if existing is None:
            actions, before = ["create"], None
        elif any(current.get(k) != after.get(k) for k in resource.get("force_new", [])):
            actions, before = ["delete", "create"], existing["attributes"]
        elif current != after:
            actions, before = ["update"], existing["attributes"]
            after = {**after, "id": existing["attributes"]["id"]}
        else:
            actions, before, after = ["no-op"], existing["attributes"], existing["attributes"]
        changes.append(change(address, resource, actions, before, after))
    for address, existing in state["resources"].items():
        if address not in desired:
            changes.append(change(address, existing, ["delete"], existing["attributes"], None))
    for entry in changes:
        if entry["change"]["actions"] != ["no-op"]:
            action = "-".join(entry["change"]["actions"])
            resource = {"addr": entry["address"], "resource_type": entry["type"]}
            emit(
                "planned_change",
                f"{entry['address']}: Plan to {action}",
                change={"resource": resource, "action": action},
            )
    counts = {
        a: sum(a in e["change"]["actions"] and e["change"]["actions"] != ["no-op"] for e in changes)
        for a in ("create", "update", "delete")
    }
    emit(
        "change_summary",
        f"Plan: {counts['create']} to add, {counts['update']} to change, {counts['delete']} to destroy.",
        changes={
            "add": counts["create"],
            "change": counts["update"],
            "remove": counts["delete"],
            "operation": "plan",
        },
    )
    saved = {
        "serial": state["serial"],
        "resource_changes": changes,
        "outputs": config.get("outputs", {}),
        "variables": variables,
        "sensitive_variables": config.get("sensitive_variables", []),
        "unknown": unknown,
    }
    write_json(Path(flags["out"]), saved)
    effective = any(e["change"]["actions"] != ["no-op"] for e in changes)
    return 2 if effective and "detailed-exitcode" in flags else 0


def change(
    address: str, resource: dict[str, Any], actions: list[str], before: Any, after: Any
) -> dict[str, Any]:
    """A `resource_changes[]` entry of `show -json`."""
    sensitive = {name: True for name in resource.get("sensitive", [])}
    return {
        "address": address,
        "mode": "managed",
        "type": resource["type"],
        "name": resource["name"],
        "provider_name": PROVIDER,
        "sensitive": resource.get("sensitive", []),
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {"id": True} if "create" in actions else {},
            "before_sensitive": sensitive if before is not None else False,
            "after_sensitive": sensitive if after is not None else False,
        },
    }


def show(args: list[str]) -> int:
    """`terraform show -json PLANFILE`: the whole plan on one line."""
    _, _, positional = parse_flags(args)
    path = Path(positional[0])
    if not path.exists():
        sys.stderr.write(
            f"\nError: Failed to read the given file as a state or plan file\n\n{path}: no such file\n"
        )
        return 1
    saved = read_json(path, {})
    sensitive = saved.get("sensitive_variables", [])
    document = {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "variables": {name: {"value": value} for name, value in saved["variables"].items()},
        "resource_changes": saved["resource_changes"],
        "configuration": {
            "root_module": {
                "variables": {
                    name: {"sensitive": True} if name in sensitive else {}
                    for name in saved["variables"]
                }
            }
        },
    }
    print(json.dumps(document), flush=True)
    return 0


def on_interrupt(signum: int, frame: Any) -> None:
    """Terraform's graceful stop: finish up, save state, exit 1."""
    global _interrupted
    _interrupted = True
    INTERRUPTED_FILE.touch()


def apply(args: list[str]) -> int:
    """`terraform apply -json PLANFILE`: one resource at a time, state saved after each."""
    PID_FILE.write_text(str(os.getpid()))
    if os.environ.get("FAKE_TF_IGNORE_SIGINT") == "1":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, on_interrupt)
    _, _, positional = parse_flags(args)
    emit("version", "Terraform 1.9.0", terraform="1.9.0", ui="1.2")
    saved = read_json(Path(positional[0]), None)
    if saved is None:
        diagnostic("Failed to load plan file", f"{positional[0]}: no such file")
        return 1
    state = read_json(STATE, {"serial": 0, "resources": {}, "outputs": {}})
    if saved["serial"] != state["serial"]:
        diagnostic(
            "Saved plan is stale",
            "The given plan file can no longer be applied because the state was changed by "
            "another operation after the plan was created.",
        )
        return 1
    failure = os.environ.get("FAKE_TF_FAIL")
    if failure == "apply":
        diagnostic(
            "Error creating namespace",
            "rpc error: code = Unavailable desc = the service is temporarily unavailable",
        )
        return 1
    if failure == "apply-permission":
        diagnostic(
            "Error creating namespace",
            "rpc error: code = PermissionDenied desc = request unauthorized: the API key "
            "lacks namespace.create",
        )
        return 1

    def lookup(expression: str) -> Any:
        type_, name, attribute = expression.split(".")
        return state["resources"][f"{type_}.{name}"]["attributes"][attribute]

    seconds = float(os.environ.get("FAKE_TF_APPLY_SECONDS", "0"))
    applied = 0
    for entry in saved["resource_changes"]:
        actions = entry["change"]["actions"]
        if actions == ["no-op"]:
            continue
        if failure == "apply-midway" and applied == 1:
            diagnostic(
                "Error creating user",
                "rpc error: code = Unavailable desc = connection reset by peer",
            )
            return 1
        address, action = entry["address"], "-".join(actions)
        hook = {"resource": {"addr": address, "resource_type": entry["type"]}, "action": action}
        emit("apply_start", f"{address}: Creating...", hook=hook)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not _interrupted:
            time.sleep(0.01)
        if _interrupted:
            print(
                "Interrupt received.\nPlease wait for Terraform to exit or data loss may occur.",
                flush=True,
            )
            diagnostic("execution halted", "Terraform was interrupted.")
            return 1
        if "delete" in actions:
            state["resources"].pop(address, None)
        if actions == ["delete", "create"]:
            state["serial"] += 1
            write_json(STATE, state)
            if failure == "replace-midway":
                diagnostic("Error creating namespace", "rpc error: code = Unavailable")
                return 1
        if "create" in actions or "update" in actions:
            known = substitute(saved["unknown"].get(address, {}), lookup)
            attributes = {**entry["change"]["after"], **known, "id": resource_id(address)}
            state["resources"][address] = {
                "type": entry["type"],
                "name": entry["name"],
                "attributes": attributes,
            }
        state["serial"] += 1
        write_json(STATE, state)
        applied += 1
        emit(
            "apply_complete",
            f"{address}: Creation complete",
            hook={**hook, "id_key": "id", "elapsed_seconds": seconds},
        )

    state["outputs"] = {
        name: {
            "value": substitute(output["value"], lookup),
            "type": "string",
            "sensitive": bool(output.get("sensitive")),
        }
        for name, output in saved["outputs"].items()
    }
    state["serial"] += 1
    write_json(STATE, state)
    emit(
        "change_summary",
        f"Apply complete! Resources: {applied} changed.",
        changes={"operation": "apply"},
    )
    emit("outputs", "Outputs: " + str(len(state["outputs"])), outputs=state["outputs"])
    return 0


def output(args: list[str]) -> int:
    """`terraform output -json`: name → {value, type, sensitive}."""
    state = read_json(STATE, {"outputs": {}})
    print(json.dumps(state.get("outputs", {}), indent=2), flush=True)
    return 0


COMMANDS = {"init": init, "plan": plan, "show": show, "apply": apply, "output": output}


def main(argv: list[str]) -> int:
    """Dispatch a subcommand."""
    if os.environ.get("FAKE_TF_DUMP"):
        dump_process(os.environ["FAKE_TF_DUMP"])
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write("Usage: terraform [global options] <subcommand> [args]\n")
        return 1
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
