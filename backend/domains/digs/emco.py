"""EMCO as the DIGs' orchestrator: its v2 REST API (the `orchestrator` microservice), over httpx.

Calls, under `/v2/projects/{project}/composite-apps/{composite app}/{version}`:

- create: `POST .../deployment-intent-groups` with `{"metadata": {"name", "description"},
  "spec": {"version", "compositeProfile"?, "logicalCloud"?}}`. `spec.version` is the composite
  app's version; the profile and logical cloud are the orchestrator's options (EMCO needs them
  when the DIG has placement intents). The apps are not sent: in EMCO they belong to the
  composite app, onboarded beforehand. 409 (exists) counts as done.
- approve, instantiate, terminate: `POST .../deployment-intent-groups/{dig}/<operation>`. A 4xx
  answer while the DIG already is where the operation leads (e.g. instantiate when
  `Instantiated`) counts as done, so retries are safe; a terminate of a DIG never instantiated
  is nothing to do, as in the sandbox.
- status: `GET .../{dig}/status?status=deployed` (the summary output lists no apps, so the
  default `output=all` is asked for), and when the DIG is instantiated `GET
  .../{dig}/status?status=ready` for readiness. What is read:
  `states.actions[-1].state` (lifecycle state; `state.Actions[-1].State` is accepted too),
  `deployedStatus` (deployment progress; the pre-22.03 `status`), `deployedCounts` (resource
  counts; `rsync-status`), per app `apps[].clusters[].resources[].deployedStatus`
  (`rsync-status`) and the cluster's `connectivity` (`readystatus`: `Retrying` makes the app
  Retrying), and from the ready query `readyStatus == "Ready"` (the DIG is ready) and per
  resource `readyStatus` (`clusterStatus`): an app is ready when all its resources are `Ready`.
- delete: `DELETE .../{dig}`; 404 counts as done.

Connection errors, timeouts, 5xx, 408 and 429 are OrchestratorError (retryable); any other 4xx is
OrchestratorRefused with EMCO's message.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from backend.domains.digs.model import AppKind, AppState, DigApp, DigRef, OrchestratorStatus
from backend.domains.digs.model import ResourceState as Resource
from backend.domains.digs.orchestrator import (
    OrchestratorError,
    OrchestratorRefused,
    ProgressCallback,
)

DEFAULT_TIMEOUT_SECONDS = 30.0
READY = "Ready"
"""EMCO's readiness value of a resource (and of the whole DIG)."""
_RETRYABLE_4XX = frozenset({408, 429})
_APPROVED_OR_LATER = frozenset(
    {"Approved", "Instantiated", "Updated", "Terminated", "InstantiateStopped", "TerminateStopped"}
)
_INSTANTIATED = frozenset({"Instantiated", "Updated"})
_NOTHING_TO_TERMINATE = frozenset({"Terminated", "TerminateStopped", "Created", "Approved"})


class EmcoOrchestrator:
    """An `Orchestrator` over EMCO's orchestrator API at `base_url` (e.g.
    `http://emco:9015`); `transport` replaces the network (tests)."""

    name = "emco"

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        composite_profile: str | None = None,
        logical_cloud: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.composite_profile = composite_profile
        self.logical_cloud = logical_cloud
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
        )

    async def create(self, dig: DigRef, apps: Sequence[DigApp], description: str) -> None:
        """Create the DIG (one that exists already is left as it is)."""
        spec: dict[str, str] = {"version": dig.version}
        if self.composite_profile:
            spec["compositeProfile"] = self.composite_profile
        if self.logical_cloud:
            spec["logicalCloud"] = self.logical_cloud
        body = {"metadata": {"name": dig.name, "description": description}, "spec": spec}
        action = f"create DIG {_label(dig)}"
        response = await self._call("POST", _digs_path(dig), action, json=body)
        if response.status_code != httpx.codes.CONFLICT and not response.is_success:
            raise _refused(response, action)

    async def approve(self, dig: DigRef) -> None:
        """Approve the DIG (done already when it is approved or further along)."""
        await self._operation(dig, "approve", _APPROVED_OR_LATER)

    async def instantiate(
        self, dig: DigRef, apps: Sequence[DigApp], progress: ProgressCallback
    ) -> list[AppState]:
        """Instantiate the DIG; the apps' states EMCO reports right after."""
        await self._operation(dig, "instantiate", _INSTANTIATED)
        status = await self.status(dig, apps)
        progress(status.apps)
        return status.apps

    async def status(self, dig: DigRef, apps: Sequence[DigApp]) -> OrchestratorStatus:
        """The deployed status (lifecycle state, progress, counts, per-app resource states),
        with readiness once the DIG is instantiated."""
        deployed = await self._status(dig, "deployed")
        ready: dict[str, Any] | None = None
        if last_state(deployed) in _INSTANTIATED:
            ready = await self._status(dig, "ready")
        return parse_status(deployed, ready, apps)

    async def terminate(
        self, dig: DigRef, apps: Sequence[DigApp], progress: ProgressCallback
    ) -> list[AppState]:
        """Terminate the DIG; the apps' states EMCO reports right after."""
        await self._operation(dig, "terminate", _NOTHING_TO_TERMINATE)
        status = await self.status(dig, apps)
        progress(status.apps)
        return status.apps

    async def delete(self, dig: DigRef) -> None:
        """Delete the DIG (gone already is fine; EMCO refuses while it is instantiated)."""
        action = f"delete DIG {_label(dig)}"
        response = await self._call("DELETE", _dig_path(dig), action)
        if response.status_code != httpx.codes.NOT_FOUND and not response.is_success:
            raise _refused(response, action)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _operation(self, dig: DigRef, operation: str, done: Collection[str]) -> None:
        """POST a lifecycle operation; a refusal while the DIG is in a `done` state is fine."""
        action = f"{operation} DIG {_label(dig)}"
        response = await self._call("POST", f"{_dig_path(dig)}/{operation}", action)
        if response.is_success:
            return
        refusal = _refused(response, action)
        if response.status_code == httpx.codes.NOT_FOUND:
            raise refusal
        try:
            state = last_state(await self._status(dig, "deployed"))
        except (OrchestratorError, OrchestratorRefused):
            raise refusal from None
        if state not in done:
            raise refusal

    async def _status(self, dig: DigRef, kind: str) -> dict[str, Any]:
        action = f"read the {kind} status of DIG {_label(dig)}"
        response = await self._call(
            "GET", f"{_dig_path(dig)}/status", action, params={"status": kind}
        )
        if not response.is_success:
            raise _refused(response, action)
        try:
            document = response.json()
        except json.JSONDecodeError:
            raise OrchestratorError(f"EMCO answered {action} with no JSON") from None
        if not isinstance(document, dict):
            raise OrchestratorError(f"EMCO answered {action} with no JSON object")
        return document

    async def _call(self, method: str, path: str, action: str, **kwargs: Any) -> httpx.Response:
        """One request; OrchestratorError when EMCO cannot be reached or fails on its side."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise OrchestratorError(f"EMCO at {self.base_url} timed out ({action})") from None
        except httpx.TransportError as err:
            reason = str(err) or type(err).__name__
            raise OrchestratorError(
                f"cannot reach EMCO at {self.base_url} ({action}): {reason}"
            ) from None
        code = response.status_code
        if code >= 500 or code in _RETRYABLE_4XX:
            raise OrchestratorError(f"EMCO could not {action} ({code}){_message(response)}")
        return response


def last_state(document: Mapping[str, Any]) -> str:
    """The DIG's lifecycle state: the last of `states.actions` (or `state.Actions`); ""."""
    states = _first(document, "states", "state")
    actions = _first(states, "actions", "Actions") if isinstance(states, dict) else None
    if not isinstance(actions, list) or not actions or not isinstance(actions[-1], dict):
        return ""
    return str(_first(actions[-1], "state", "State") or "")


def parse_status(
    deployed: Mapping[str, Any],
    ready: Mapping[str, Any] | None,
    apps: Sequence[DigApp] = (),
) -> OrchestratorStatus:
    """An OrchestratorStatus from EMCO's `status=deployed` answer and, when asked, its
    `status=ready` answer; `apps` (the DIG's) come first, in their order, Pending when EMCO
    lists nothing for them."""
    counts = _first(deployed, "deployedCounts", "rsync-status", "resourceCount")
    resources = (
        {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
        if isinstance(counts, dict)
        else {}
    )
    readiness = _app_readiness(ready) if ready is not None else {}
    kinds = {a.name: a.kind for a in apps}
    states: dict[str, AppState] = {a.name: AppState(app=a.name, kind=a.kind) for a in apps}
    for name, clusters in _apps(deployed):
        statuses = [
            s for c in clusters for s in _resource_values(c, "deployedStatus", "rsync-status")
        ]
        retrying = any(
            _first(c, "connectivity", "readystatus", "readyStatus") == "Retrying" for c in clusters
        )
        ready_values = readiness.get(name, [])
        state = _app_state(statuses, retrying)
        states[name] = AppState(
            app=name,
            kind=kinds.get(name, AppKind.HELM),
            state=state,
            ready=bool(ready_values) and all(v == READY for v in ready_values),
            detail=_detail(statuses, len(clusters), ready_values),
        )
    return OrchestratorStatus(
        state=last_state(deployed),
        deployed=str(_first(deployed, "deployedStatus", "status") or ""),
        ready=ready is not None and _first(ready, "readyStatus") == READY,
        resources=resources,
        apps=list(states.values()),
    )


def _apps(document: Mapping[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(app name, its cluster entries) from `apps[].clusters[]`."""
    for app in document.get("apps") or []:
        if not isinstance(app, dict) or not app.get("name"):
            continue
        clusters = [c for c in app.get("clusters") or [] if isinstance(c, dict)]
        yield str(app["name"]), clusters


def _app_readiness(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every app's resource readiness values from a `status=ready` answer."""
    return {
        name: [
            v
            for c in clusters
            for v in _resource_values(c, "readyStatus", "clusterStatus", "cluster-status")
        ]
        for name, clusters in _apps(document)
    }


def _resource_values(cluster: Mapping[str, Any], *keys: str) -> list[str]:
    return [
        str(_first(r, *keys) or "") for r in cluster.get("resources") or [] if isinstance(r, dict)
    ]


def _app_state(statuses: list[str], retrying: bool) -> Resource:
    """One app's resource state from its resources' rsync statuses."""
    if "Failed" in statuses:
        return Resource.FAILED
    if retrying:
        return Resource.RETRYING
    if statuses and all(s == "Deleted" for s in statuses):
        return Resource.TERMINATED
    if statuses and all(s == "Applied" for s in statuses):
        return Resource.APPLIED
    return Resource.PENDING


def _detail(statuses: list[str], clusters: int, ready_values: list[str]) -> str:
    """`3 resources on 2 clusters: Applied 3, ready 3/3`."""
    counted = ", ".join(f"{s or 'unknown'} {n}" for s, n in _counts(statuses).items())
    text = f"{_plural(len(statuses), 'resource')} on {_plural(clusters, 'cluster')}"
    if counted:
        text += f": {counted}"
    if ready_values:
        text += f", ready {sum(1 for v in ready_values if v == READY)}/{len(ready_values)}"
    return text


def _counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _first(document: Any, *keys: str) -> Any:
    """The first of `keys` present in `document` (EMCO renamed fields across releases)."""
    if not isinstance(document, Mapping):
        return None
    for key in keys:
        if key in document:
            return document[key]
    return None


def _message(response: httpx.Response) -> str:
    """`: <EMCO's message>` (its JSON `message`/`error`, else its text's first line), or ""."""
    text = response.text.strip()
    if not text:
        return ""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        found = _first(document, "message", "error", "msg", "reason")
        if found:
            text = str(found)
    line = " ".join(text.splitlines()[0].split()) if text else ""
    return f": {line[:300]}" if line else ""


def _refused(response: httpx.Response, action: str) -> OrchestratorRefused:
    return OrchestratorRefused(
        f"EMCO refused to {action} ({response.status_code}){_message(response)}"
    )


def _label(dig: DigRef) -> str:
    return f"{dig.project}/{dig.composite_app}/{dig.version}/{dig.name}"


def _digs_path(dig: DigRef) -> str:
    """`/v2/projects/{p}/composite-apps/{app}/{version}/deployment-intent-groups`, escaped."""
    return (
        f"/v2/projects/{quote(dig.project, safe='')}/composite-apps/"
        f"{quote(dig.composite_app, safe='')}/{quote(dig.version, safe='')}"
        "/deployment-intent-groups"
    )


def _dig_path(dig: DigRef) -> str:
    """The DIG's path (DigRef.path, each segment escaped)."""
    return f"{_digs_path(dig)}/{quote(dig.name, safe='')}"
