"""A stand-in for the `opa` binary in tests: `opa eval --format json --data P --input F QUERY`.

It checks its arguments the way OpaPolicyEngine passes them, reads the input document and
answers as OPA would for a policy with one rule, `no-admin-principals` (a user or service
account created or updated with account_access admin or owner). Knobs, from the environment:

- FAKE_OPA_EXIT: exit with this code after an OPA-like error (on stderr, or as JSON on stdout
  when FAKE_OPA_ERROR_FORMAT=json);
- FAKE_OPA_SLEEP: seconds to sleep before answering (for timeouts and cancellation);
- FAKE_OPA_PIDFILE: write the process id there first;
- FAKE_OPA_OUTPUT: print this instead of the answer;
- FAKE_OPA_RECORD: copy the input document there.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

PRINCIPALS = {"temporalcloud_user", "temporalcloud_service_account"}
ADMIN = {"admin", "owner"}


def usage(problem: str) -> int:
    """Complain like a CLI about bad arguments."""
    print(f"fake opa: {problem}; argv: {sys.argv[1:]}", file=sys.stderr)
    return 2


def decide(document: dict[str, Any]) -> dict[str, Any]:
    """The policy: deny every principal given admin or owner access."""
    deny = []
    for rc in document["resource_changes"]:
        actions = rc["change"]["actions"]
        after = rc["change"]["after"] or {}
        access = after.get("account_access")
        writes = "create" in actions or "update" in actions
        if rc["type"] in PRINCIPALS and writes and str(access).lower() in ADMIN:
            deny.append(
                {
                    "id": "no-admin-principals",
                    "msg": f"{rc['address']} grants {access} access",
                    "resources": [rc["address"]],
                }
            )
    checks = [{"id": "no-admin-principals", "description": "no admin principals"}]
    return {"deny": deny, "checks": checks}


def main() -> int:
    """Check the arguments, then answer (or misbehave as the knobs say)."""
    args = sys.argv[1:]
    if len(args) != 8 or args[:4] != ["eval", "--format", "json", "--data"]:
        return usage("expected eval --format json --data P --input F QUERY")
    if args[5] != "--input":
        return usage("expected --input F after --data P")
    policy, input_file, query = Path(args[4]), Path(args[6]), args[7]
    if not policy.exists():
        return usage(f"{policy} does not exist")
    if pidfile := os.environ.get("FAKE_OPA_PIDFILE"):
        Path(pidfile).write_text(str(os.getpid()))
    if delay := os.environ.get("FAKE_OPA_SLEEP"):
        time.sleep(float(delay))
    exit_code = int(os.environ.get("FAKE_OPA_EXIT", "0"))
    if exit_code:
        if os.environ.get("FAKE_OPA_ERROR_FORMAT") == "json":
            error = {
                "code": "rego_parse_error",
                "message": "unexpected eof token",
                "location": {"file": "policy.rego", "row": 3, "col": 1},
            }
            print(json.dumps({"errors": [error]}, indent=2))
        else:
            print(
                "1 error occurred: policy.rego:3: rego_parse_error: unexpected eof token",
                file=sys.stderr,
            )
            print("\tdeny contains", file=sys.stderr)
            print("\t^", file=sys.stderr)
        return exit_code
    text = input_file.read_text()
    if record := os.environ.get("FAKE_OPA_RECORD"):
        Path(record).write_text(text)
    if (output := os.environ.get("FAKE_OPA_OUTPUT")) is not None:
        print(output)
        return 0
    value = decide(json.loads(text))
    expression = {"value": value, "text": query, "location": {"row": 1, "col": 1}}
    print(json.dumps({"result": [{"expressions": [expression]}]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
