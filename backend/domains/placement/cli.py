"""`flightdeck create|get|update|delete NOUN ...` and `flightdeck host-agent`: hosts and placement
from the terminal, over the API (specs/titan-placement-architecture.md, "Developer Experience").

    flightdeck create host tim-pi --labels name=tim-pi,platform=kubernetes
    flightdeck create template device-service -f ./device-service.yaml
    flightdeck create workload temperature-sensor --repo https://github.com/timfpark/temp-sensor
    flightdeck create target tim-pi --labels name=tim-pi
    flightdeck create deployment prod --workload temperature-sensor --template device-service \\
        --target tim-pi [--values port=8080] [--replicas N]
    flightdeck get hosts | get deployment prod | get template device-service -o json
    flightdeck update deployment prod --target k8s --replicas 2
    flightdeck delete deployment prod
    flightdeck host-agent tim-pi --dir /var/lib/flightdeck-agent [--interval 5] [--once]

The API is `--api URL`, else FLIGHTDECK_API_URL, else this data dir's running backend; the token
`--token`/`--token-file`, else FLIGHTDECK_API_TOKEN, else the data dir's. Changes are recorded
for the local user (`X-Flightdeck-Actor`) when the shared token is used. A refusal or an
unreachable API is one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import re
import ssl
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from backend.domains.placement.model import NOUNS
from backend.domains.placement.model import PLURALS as MODEL_PLURALS

if TYPE_CHECKING:
    import httpx

    from backend.config import Settings, TemporalSettings

PLURALS = {plural: noun for noun, plural in MODEL_PLURALS.items()}
PLACEMENT_COMMANDS = ("create", "get", "update", "delete", "host-agent")
"""The top-level commands this module adds to `flightdeck`."""

ACTOR_HEADER = "X-Flightdeck-Actor"
_ACTOR = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
EXIT_FAILED = 1
EXIT_USAGE = 2
TIMEOUT = 30.0
PAGE = 500


class CliError(Exception):
    """A refusal or failure, with the one line to print and the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ApiRefused(CliError):
    """The API answered with an error status; `message` is its `detail`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def one_line(text: str, limit: int = 300) -> str:
    """`text` on one line, control characters and bidi overrides replaced, at most `limit`."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def local_actor() -> str | None:
    """The local user name, when it is one the API takes as an actor."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None
    return user if _ACTOR.match(user) else None


class Api:
    """A synchronous client of the placement API: JSON in, JSON out, one-line errors."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        from backend import __version__

        if not re.match(r"^https?://[^\s/]+", url):
            raise CliError(f"--api {url!r} is not an http(s):// URL", EXIT_USAGE)
        self.url = url.rstrip("/")
        self.timeout = timeout
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": f"flightdeck-cli/{__version__}",
        }
        actor = local_actor()
        if actor:
            headers[ACTOR_HEADER] = actor
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            # Plain http:// uses no TLS at all: skip loading the CA store (tens of ms a call).
            verify=_tls_trust() if self.url.startswith("https://") else False,
            trust_env=False,
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str | int] | None = None,
    ) -> Any:
        """The answer's JSON; ApiRefused for an error status, CliError when unreachable."""
        import httpx

        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.TimeoutException:
            raise CliError(
                f"the API at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as err:
            reason = one_line(str(err)) or type(err).__name__
            raise CliError(f"cannot reach the API at {self.url}: {reason}") from None
        if response.is_error:
            raise ApiRefused(response.status_code, error_message(response))
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"the API at {self.url} answered {method} {path} with something that is not JSON"
            ) from None

    def pages(self, path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every item of a paged list (`items` + `total`), and the last page's other fields."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", path, params={"limit": PAGE, "offset": len(items)})
            found = page.get("items") or []
            items.extend(found)
            if not found or len(items) >= int(page.get("total", 0)):
                return items, {k: v for k, v in page.items() if k != "items"}


@functools.cache
def _tls_trust() -> ssl.SSLContext:
    """The system's CAs, plus SSL_CERT_FILE when set (an API with a private CA's certificate);
    proxies and the like from the environment are not used (trust_env is off)."""
    return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or None)


def error_message(response: httpx.Response) -> str:
    """One readable line for an error answer: its `detail`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail.strip():
        message = one_line(detail)
    elif isinstance(detail, list) and detail:
        message = one_line(
            "; ".join(
                f"{'.'.join(str(p) for p in item.get('loc', ())[1:]) or 'body'}:"
                f" {item.get('msg', 'invalid')}"
                if isinstance(item, dict)
                else str(item)
                for item in detail
            )
        )
    else:
        message = f"HTTP {response.status_code} {response.reason_phrase or 'error'}"
    if response.status_code == 401:
        message = f"{message} (check the API token)"
    return message


# -- the parser --------------------------------------------------------------------------------


def add_placement_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add `create`, `get`, `update`, `delete` and `host-agent` to `flightdeck`'s commands."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--api",
        metavar="URL",
        help="the API (FLIGHTDECK_API_URL; default: this data dir's running backend)",
    )
    token = connection.add_mutually_exclusive_group()
    token.add_argument(
        "--token", help="API token (default: FLIGHTDECK_API_TOKEN or the data dir's api-token)"
    )
    token.add_argument("--token-file", type=Path, help="file holding the API token")
    parents = [common, connection]

    def noun_parsers(verb: str, help_text: str) -> dict[str, argparse.ArgumentParser]:
        parser = commands.add_parser(verb, help=help_text, description=help_text, parents=[common])
        nouns = parser.add_subparsers(dest="noun", metavar="NOUN", required=True)
        found = {}
        for noun in NOUNS:
            sub = nouns.add_parser(
                noun, help=f"{verb.capitalize()} a {noun}.", parents=parents, aliases=[f"{noun}s"]
            )
            sub.add_argument("name", nargs="?", metavar="NAME", help=f"the {noun}'s name")
            sub.add_argument("--name", dest="name_option", metavar="NAME", help=argparse.SUPPRESS)
            found[noun] = sub
        return found

    labels_help = "labels, key=value[,key=value...]"
    values_help = (
        "values for the template's ${name}s, key=value[,key=value...] (repeatable;"
        " on update they replace the deployment's values)"
    )
    created = noun_parsers("create", "Create a host, workload, template, target or deployment.")
    created["host"].add_argument("--labels", default="", metavar="K=V,...", help=labels_help)
    created["workload"].add_argument(
        "--repo", required=True, metavar="URL", help="the workload's source repository"
    )
    created["template"].add_argument(
        "-f", "--file", required=True, metavar="PATH", help="the template's text (- for stdin)"
    )
    created["target"].add_argument(
        "--labels", required=True, metavar="K=V,...", help="the labels a host must carry"
    )
    deployment = created["deployment"]
    deployment.add_argument("--workload", required=True, metavar="W", help="the workload")
    deployment.add_argument("--template", required=True, metavar="T", help="its template")
    deployment.add_argument("--target", required=True, metavar="X", help="where it goes")
    deployment.add_argument(
        "--values", action="append", default=[], metavar="K=V,...", help=values_help
    )
    deployment.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="K=V",
        help="one value, taken whole (commas and all; repeatable)",
    )
    deployment.add_argument(
        "--replicas", metavar="N", help="on how many matching hosts (default: all of them)"
    )

    updated = noun_parsers("update", "Change a host, workload, template, target or deployment.")
    updated["host"].add_argument("--labels", required=True, metavar="K=V,...", help=labels_help)
    updated["workload"].add_argument(
        "--repo", required=True, metavar="URL", help="the workload's source repository"
    )
    updated["template"].add_argument(
        "-f", "--file", required=True, metavar="PATH", help="the new text (- for stdin)"
    )
    updated["target"].add_argument(
        "--labels", required=True, metavar="K=V,...", help="the labels a host must carry"
    )
    deployment = updated["deployment"]
    deployment.add_argument("--workload", metavar="W", help="another workload")
    deployment.add_argument("--template", metavar="T", help="another template")
    deployment.add_argument("--target", metavar="X", help="another target (retarget)")
    deployment.add_argument(
        "--values", action="append", default=[], metavar="K=V,...", help=values_help
    )
    deployment.add_argument(
        "--value", action="append", default=[], metavar="K=V", help="one value, taken whole"
    )
    deployment.add_argument("--replicas", metavar="N|all", help="a number, or all matching hosts")

    shown = noun_parsers("get", "Show hosts, workloads, templates, targets or deployments.")
    for sub in shown.values():
        sub.add_argument(
            "-o",
            "--output",
            choices=["table", "json"],
            default="table",
            help="table (default) or the API's JSON",
        )
    noun_parsers("delete", "Delete a host, workload, template, target or deployment.")

    agent_help = (
        "Run the reference host agent: fetch the host's change feed, write each deployment's"
        " rendering to DIR/<deployment>.yaml, remove the ones taken off the host, report what"
        " runs."
    )
    agent = commands.add_parser(
        "host-agent", help=agent_help, description=agent_help, parents=parents
    )
    agent.add_argument("name", metavar="NAME", help="the host")
    agent.add_argument("--dir", required=True, type=Path, help="where the renderings go")
    agent.add_argument(
        "--interval", type=float, default=5.0, metavar="S", help="seconds between rounds (5)"
    )
    agent.add_argument("--once", action="store_true", help="one round, then exit")


# -- running -----------------------------------------------------------------------------------


def run(argv: Sequence[str]) -> int:
    """Parse `argv` as `flightdeck` does and run a placement command: its exit code (errors
    printed as one line on stderr). For tests and embedding; `flightdeck` itself calls
    `run_placement`."""
    from backend.cli import build_parser

    args = build_parser().parse_args(list(argv))
    if args.command not in PLACEMENT_COMMANDS:
        raise ValueError(f"{args.command!r} is not a placement command")
    return run_placement(args)


def run_placement(
    args: argparse.Namespace,
    settings: Settings | None = None,
    temporal: TemporalSettings | None = None,
) -> int:
    """Run a parsed placement command; its exit code."""
    from backend.config import ConfigError

    try:
        if args.command in ("create", "update", "delete"):  # bad input fails before connecting
            args.target_name = _name(args)
        if args.command in ("create", "update"):
            args.body = _body(_noun(args), args, create=args.command == "create")
        with connect(args, settings) as api:
            if args.command == "host-agent":
                from backend.domains.placement.host_agent import run_agent_command

                return run_agent_command(api, args)
            return COMMANDS[args.command](api, args)
    except CliError as err:
        return fail(err.message, err.code)
    except ConfigError as err:
        return fail(str(err), EXIT_USAGE)


def fail(message: str, code: int) -> int:
    """Print the one error line; `code`."""
    print(f"flightdeck: error: {one_line(message, 500)}", file=sys.stderr, flush=True)
    return code


def connect(args: argparse.Namespace, settings: Settings | None) -> Api:
    """The API client the arguments (else the environment, else the data dir) name."""
    from backend import cli
    from backend.config import load_settings

    @functools.cache
    def loaded() -> Settings:
        return settings or load_settings(
            data_dir=getattr(args, "data_dir", None), log_level=getattr(args, "log_level", None)
        )

    url = getattr(args, "api", None)
    if not url:
        url = loaded().api_url or cli._local_api_url(loaded())
    if getattr(args, "token_file", None):
        token = cli._read_token_file(args.token_file)
    else:
        token = getattr(args, "token", None) or loaded().api_token or cli._local_token(loaded())
    return Api(url, token)


def _name(args: argparse.Namespace) -> str:
    if args.name and args.name_option and args.name != args.name_option:
        raise CliError(f"two names given: {args.name} and {args.name_option}", EXIT_USAGE)
    name: str | None = args.name or args.name_option
    if not name:
        raise CliError(f"give the {args.noun}'s NAME", EXIT_USAGE)
    return name


def _noun(args: argparse.Namespace) -> str:
    noun: str = PLURALS.get(args.noun, args.noun)
    return noun


def parse_pairs(texts: str | Sequence[str], option: str) -> dict[str, str]:
    """`k=v,k2=v2` (one text, or several) as a dict; CliError for anything else."""
    pairs: dict[str, str] = {}
    for text in [texts] if isinstance(texts, str) else texts:
        for item in text.split(","):
            _add_pair(pairs, item, option, text)
    return pairs


def _add_pair(pairs: dict[str, str], item: str, option: str, text: str) -> None:
    item = item.strip()
    if not item:
        return
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliError(
            f"{option} {text!r}: {item!r} is not key=value (write {option} key=value,key2=value2)",
            EXIT_USAGE,
        )
    if key in pairs:
        raise CliError(f"{option}: {key} is given twice", EXIT_USAGE)
    pairs[key] = value.strip()


def _values(args: argparse.Namespace) -> dict[str, str] | None:
    """The deployment's values from --values and --value; None when neither was given."""
    if not args.values and not args.value:
        return None
    values = parse_pairs(args.values, "--values")
    for item in args.value:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--value {item!r} is not key=value", EXIT_USAGE)
        if key.strip() in values:
            raise CliError(f"--value: {key.strip()} is given twice", EXIT_USAGE)
        values[key.strip()] = value
    return values


def _replicas(text: str, *, allow_all: bool) -> int | None:
    if allow_all and text.strip().lower() == "all":
        return None
    try:
        number = int(text)
    except ValueError:
        hint = "a whole number, or all" if allow_all else "a whole number"
        raise CliError(f"--replicas {text!r} is not {hint}", EXIT_USAGE) from None
    if number < 1:
        raise CliError("--replicas must be at least 1", EXIT_USAGE)
    return number


def read_text(path: str) -> str:
    """A template's text from a file, or stdin for `-`."""
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text", EXIT_USAGE) from None
    except OSError as err:
        raise CliError(f"cannot read {path}: {err.strerror or err}", EXIT_USAGE) from None


def _body(noun: str, args: argparse.Namespace, *, create: bool) -> dict[str, Any]:
    """The create body (or the update patch) the arguments give."""
    body: dict[str, Any] = {}
    if noun in ("host", "target"):
        body["labels"] = parse_pairs(args.labels, "--labels")
    elif noun == "workload":
        body["repo"] = args.repo
    elif noun == "template":
        body["body"] = read_text(args.file)
    else:
        for field in ("workload", "template", "target"):
            if getattr(args, field) is not None:
                body[field] = getattr(args, field)
        values = _values(args)
        if values is not None or create:
            body["values"] = values or {}
        if args.replicas is not None:
            body["replicas"] = _replicas(args.replicas, allow_all=not create)
        if not create and not body:
            raise CliError(
                "nothing to update: give --workload, --template, --target, --values or --replicas",
                EXIT_USAGE,
            )
    return body


def _done(record: dict[str, Any], noun: str, verb: str) -> str:
    return f"{noun} {record.get('name')} {verb} (change #{record.get('revision')})"


def create(api: Api, args: argparse.Namespace) -> int:
    """`flightdeck create NOUN NAME ...`."""
    noun, name = _noun(args), args.target_name
    record = api.call("POST", f"/api/v1/{noun}s", body={"name": name, **args.body})
    print(_done(record, noun, "created"), flush=True)
    return 0


def update(api: Api, args: argparse.Namespace) -> int:
    """`flightdeck update NOUN NAME ...` (PATCH: the fields given replace the stored ones)."""
    noun, name = _noun(args), args.target_name
    record = api.call("PATCH", f"/api/v1/{noun}s/{quote(name, safe='')}", body=args.body)
    print(_done(record, noun, "updated"), flush=True)
    return 0


def delete(api: Api, args: argparse.Namespace) -> int:
    """`flightdeck delete NOUN NAME`."""
    noun, name = _noun(args), args.target_name
    record = api.call("DELETE", f"/api/v1/{noun}s/{quote(name, safe='')}")
    print(_done(record, noun, "deleted"), flush=True)
    return 0


def get(api: Api, args: argparse.Namespace) -> int:
    """`flightdeck get NOUN [NAME] [-o json]`."""
    noun = _noun(args)
    name: str | None = args.name or args.name_option
    if name:
        found = api.call("GET", f"/api/v1/{noun}s/{quote(name, safe='')}")
        if args.output == "json":
            _print_json(found)
        else:
            SHOW_ONE[noun](found)
        return 0
    items, rest = api.pages(f"/api/v1/{noun}s")
    if args.output == "json":
        _print_json({"items": items, **rest})
    elif not items:
        print(f"no {noun}s", flush=True)
    else:
        headers, row = TABLES[noun]
        _print_table(headers, [row(item) for item in items])
    return 0


PLACEMENT_RUNNERS: dict[
    str | None, Callable[[argparse.Namespace, Settings, TemporalSettings], int]
] = dict.fromkeys(PLACEMENT_COMMANDS, run_placement)
"""`flightdeck`'s runner of each placement command."""

COMMANDS: dict[str, Callable[[Api, argparse.Namespace], int]] = {
    "create": create,
    "get": get,
    "update": update,
    "delete": delete,
}


# -- output ------------------------------------------------------------------------------------


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False), flush=True)


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    cells = [[one_line(str(c), 80) for c in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    for row in (list(headers), *cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.flush()


def _print_fields(fields: Sequence[tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in fields) + 1
    for key, value in fields:
        print(f"{key + ':':<{width}} {one_line(value, 1000)}")
    sys.stdout.flush()


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ago(value: Any, *, now: datetime | None = None) -> str:
    """`12s ago`, `3m ago`, `2h ago`, `4d ago` (empty for no time)."""
    moment = _moment(value)
    if moment is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def when(value: Any) -> str:
    """Local time and age: `2025-01-02 10:11:12 (3m ago)`; `-` for no time."""
    moment = _moment(value)
    if moment is None:
        return "-"
    return f"{moment.astimezone():%Y-%m-%d %H:%M:%S} ({ago(value)})"


def pairs_text(pairs: Any) -> str:
    """`k=v,k2=v2`, sorted (`-` for none)."""
    if not isinstance(pairs, dict) or not pairs:
        return "-"
    return ",".join(f"{key}={value}" for key, value in sorted(pairs.items()))


def _change(value: Any) -> str:
    return "-" if value is None else f"#{value}"


def _replicas_text(value: Any) -> str:
    return "all" if value is None else str(value)


def _host_row(row: dict[str, Any]) -> list[str]:
    last = row.get("last_change") or ""
    if last and row.get("last_change_at"):
        last = f"{last} ({ago(row['last_change_at'])})"
    agent = "-"
    if row.get("agent_seen_at"):
        agent = f"#{row.get('agent_bookmark')} {ago(row['agent_seen_at'])}"
    return [
        row["name"],
        pairs_text(row.get("labels")),
        str(row.get("deployments", 0)),
        str(row.get("deployed", 0)),
        last or "-",
        agent,
    ]


TABLES: dict[str, tuple[Sequence[str], Callable[[dict[str, Any]], list[str]]]] = {
    "host": (
        ("NAME", "LABELS", "DEPLOYMENTS", "DEPLOYED", "LAST CHANGE", "AGENT"),
        _host_row,
    ),
    "workload": (
        ("NAME", "REPO", "CHANGE", "UPDATED"),
        lambda r: [r["name"], r.get("repo", ""), _change(r.get("revision")), ago(r["updated_at"])],
    ),
    "template": (
        ("NAME", "PLACEHOLDERS", "LINES", "CHANGE", "UPDATED"),
        lambda r: [
            r["name"],
            ",".join(r.get("placeholders") or []) or "-",
            str(len(str(r.get("body", "")).splitlines())),
            _change(r.get("revision")),
            ago(r["updated_at"]),
        ],
    ),
    "target": (
        ("NAME", "LABELS", "CHANGE", "UPDATED"),
        lambda r: [
            r["name"],
            pairs_text(r.get("labels")),
            _change(r.get("revision")),
            ago(r["updated_at"]),
        ],
    ),
    "deployment": (
        ("NAME", "WORKLOAD", "TEMPLATE", "TARGET", "REPLICAS", "VALUES", "CHANGE", "UPDATED"),
        lambda r: [
            r["name"],
            r.get("workload", ""),
            r.get("template", ""),
            r.get("target", ""),
            _replicas_text(r.get("replicas")),
            pairs_text(r.get("values")),
            _change(r.get("revision")),
            ago(r["updated_at"]),
        ],
    ),
}


def _record_fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("change", _change(record.get("revision"))),
        ("created", when(record.get("created_at"))),
        ("updated", when(record.get("updated_at"))),
    ]


def _assignments(rows: list[dict[str, Any]], first: str) -> None:
    print()
    if not rows:
        print("no assignments" if first == "DEPLOYMENT" else "on no host yet", flush=True)
        return
    key = "deployment" if first == "DEPLOYMENT" else "host"
    _print_table(
        (first, "REVISION", "STATE", "DEPLOYED", "ASSIGNED"),
        [
            [
                row[key],
                _change(row.get("revision")),
                str(row.get("state", "")),
                f"{_change(row.get('deployed_revision'))} {ago(row.get('deployed_at'))}".strip()
                if row.get("deployed_revision") is not None
                else "-",
                ago(row.get("assigned_at")),
            ]
            for row in rows
        ],
    )


def _show_host(view: dict[str, Any]) -> None:
    host = view["host"]
    agent = "never reported"
    if view.get("agent_seen_at"):
        agent = f"at bookmark #{view.get('agent_bookmark')}, {when(view['agent_seen_at'])}"
    _print_fields(
        [
            ("host", host["name"]),
            ("labels", pairs_text(host.get("labels"))),
            *_record_fields(host),
            ("agent", agent),
        ]
    )
    _assignments(view.get("assignments") or [], "DEPLOYMENT")


def _show_deployment(view: dict[str, Any]) -> None:
    record = view["deployment"]
    replicas = _replicas_text(record.get("replicas"))
    matching = int(view.get("matching_hosts", 0))
    _print_fields(
        [
            ("deployment", record["name"]),
            ("workload", record.get("workload", "")),
            ("template", record.get("template", "")),
            ("target", record.get("target", "")),
            ("values", pairs_text(record.get("values"))),
            (
                "replicas",
                f"{replicas} (target matches {matching} host{'' if matching == 1 else 's'})",
            ),
            *_record_fields(record),
        ]
    )
    _assignments(view.get("assignments") or [], "HOST")


def _show_template(record: dict[str, Any]) -> None:
    body = str(record.get("body", ""))
    sys.stdout.write(body if body.endswith("\n") else body + "\n")
    sys.stdout.flush()


def _show_workload(record: dict[str, Any]) -> None:
    _print_fields(
        [("workload", record["name"]), ("repo", record.get("repo", "")), *_record_fields(record)]
    )


def _show_target(record: dict[str, Any]) -> None:
    _print_fields(
        [
            ("target", record["name"]),
            ("labels", pairs_text(record.get("labels"))),
            *_record_fields(record),
        ]
    )


SHOW_ONE: dict[str, Callable[[dict[str, Any]], None]] = {
    "host": _show_host,
    "deployment": _show_deployment,
    "template": _show_template,
    "workload": _show_workload,
    "target": _show_target,
}
