"""A respx-mocked Flightdeck API for TUI tests: labs in memory, requests recorded, faults on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from backend.domain.audit import ActionResult, AuditOutcome
from backend.domain.labs import Lab, LabSeverity, LabStatus
from backend.domain.progress import Awaiting, Decision, Progress, ProgressSummary, Step, StepState

BASE_URL = "http://flightdeck.test"
NOW = datetime.now(UTC)

STEP_NAMES = (
    "LockLab",
    "GenerateBlueprint",
    "ProvisionEnvironment",
    "RunValidation",
    "RequestHumanReview",
    "FinalizeLab",
)


def make_lab(
    lab_id: str,
    name: str,
    status: LabStatus,
    *,
    percent: int,
    phase: str | None = None,
    severity: LabSeverity = LabSeverity.MEDIUM,
    age: timedelta = timedelta(minutes=5),
    review_round: str | None = None,
    last_error: str | None = None,
    decisions: list[Decision] | None = None,
) -> Lab:
    """A lab as the API returns it, with a consistent summary and progress."""
    phase = phase or status.value
    created = NOW - age
    awaiting = (
        Awaiting(
            kind="review",
            since=NOW - timedelta(minutes=2),
            request_id=review_round,
            prompt="Validation passed: approve to finalize",
        )
        if review_round
        else None
    )
    done_steps = min(len(STEP_NAMES), percent * len(STEP_NAMES) // 100)
    steps = []
    for index, step_name in enumerate(STEP_NAMES):
        started = created + timedelta(seconds=20 * index)
        if index < done_steps:
            steps.append(
                Step(
                    name=step_name,
                    state=StepState.COMPLETED,
                    started_at=started,
                    finished_at=started + timedelta(seconds=15),
                    attempt=1,
                )
            )
        elif index == done_steps and not status.is_final:
            state = StepState.WAITING if awaiting else StepState.RUNNING
            steps.append(
                Step(name=step_name, state=state, started_at=started, attempt=2, detail="working")
            )
        else:
            steps.append(Step(name=step_name))
    return Lab(
        id=lab_id,
        name=name,
        requested_by="alice",
        severity=severity,
        ttl_hours=8,
        status=status,
        workflow_id=f"lab-{lab_id}",
        created_at=created,
        updated_at=NOW,
        summary=ProgressSummary(
            phase=phase, percent=percent, awaiting="review" if awaiting else None
        ),
        progress=Progress(
            phase=phase,
            percent=percent,
            steps=steps,
            awaiting=awaiting,
            last_error=last_error,
            decisions=decisions or [],
            done=status.is_final,
        ),
    )


def sample_labs() -> list[Lab]:
    """A spread of labs in every interesting state."""
    return [
        make_lab(
            "lab-1",
            "payments-db",
            LabStatus.AWAITING_REVIEW,
            percent=70,
            review_round="r-7",
            severity=LabSeverity.HIGH,
            age=timedelta(minutes=42),
            decisions=[
                Decision(
                    request_id="r-6",
                    kind="review",
                    decision="request_changes",
                    actor="bob",
                    comment="open port 22 too",
                    at=NOW - timedelta(minutes=20),
                )
            ],
        ),
        make_lab(
            "lab-2", "search-canary", LabStatus.PROVISIONING, percent=35, age=timedelta(minutes=3)
        ),
        make_lab(
            "lab-3",
            "billing-v2",
            LabStatus.RUNNING,
            percent=100,
            age=timedelta(hours=2),
            severity=LabSeverity.LOW,
        ),
        make_lab(
            "lab-4",
            "auth-migration",
            LabStatus.FAILED,
            percent=50,
            last_error="RunValidation: smoke test failed (3 attempts)",
            severity=LabSeverity.CRITICAL,
            age=timedelta(hours=5),
        ),
        make_lab("lab-5", "old-sandbox", LabStatus.CANCELLED, percent=40, age=timedelta(days=2)),
    ]


@dataclass
class FakeApi:
    """The labs API over respx: serves `labs`, records what the TUI sent, fails when told to."""

    router: respx.MockRouter
    labs: list[Lab] = field(default_factory=sample_labs)
    reachable: bool = True
    list_requests: list[httpx.Request] = field(default_factory=list)
    list_response: httpx.Response | None = None
    create_response: httpx.Response | None = None
    review_response: httpx.Response | None = None
    cancel_response: httpx.Response | None = None

    def __post_init__(self) -> None:
        self.health_route = self.router.get("/healthz").mock(side_effect=self._health)
        self.list_route = self.router.get("/api/v1/labs").mock(side_effect=self._list)
        self.create_route = self.router.post("/api/v1/labs").mock(side_effect=self._create)
        self.review_route = self.router.post(
            path__regex=r"^/api/v1/labs/(?P<lab_id>[^/]+)/review$"
        ).mock(side_effect=self._review)
        self.cancel_route = self.router.post(
            path__regex=r"^/api/v1/labs/(?P<lab_id>[^/]+)/cancel$"
        ).mock(side_effect=self._cancel)
        self.get_route = self.router.get(path__regex=r"^/api/v1/labs/(?P<lab_id>[^/]+)$").mock(
            side_effect=self._get
        )

    def lab(self, lab_id: str) -> Lab:
        """The stored lab with this id."""
        return next(lab for lab in self.labs if lab.id == lab_id)

    def replace(self, lab: Lab) -> None:
        """Change a lab in place (same position in the list)."""
        self.labs = [lab if existing.id == lab.id else existing for existing in self.labs]

    def _check_reachable(self, request: httpx.Request) -> None:
        if not self.reachable:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    def _health(self, request: httpx.Request) -> httpx.Response:
        self._check_reachable(request)
        return httpx.Response(
            200,
            json={
                "status": "ok",
                "temporal": "connected",
                "namespace": "default",
                "temporal_address": "127.0.0.1:7233",
                "version": "0.1.0",
            },
        )

    def _list(self, request: httpx.Request) -> httpx.Response:
        self._check_reachable(request)
        self.list_requests.append(request)
        if self.list_response is not None:
            return self.list_response
        live = set(filter(None, request.url.params.get("live", "").split(",")))
        status = request.url.params.get("status")
        items = []
        for lab in self.labs:
            if status and lab.status.value != status:
                continue
            shown = lab if lab.id in live else lab.model_copy(update={"progress": None})
            items.append(shown.model_dump(mode="json"))
        return httpx.Response(200, json={"items": items, "total": len(items)})

    def _get(self, request: httpx.Request, lab_id: str) -> httpx.Response:
        self._check_reachable(request)
        for lab in self.labs:
            if lab.id == lab_id:
                return httpx.Response(200, json=lab.model_dump(mode="json"))
        return httpx.Response(404, json={"detail": f"no lab {lab_id}"})

    def _create(self, request: httpx.Request) -> httpx.Response:
        self._check_reachable(request)
        if self.create_response is not None:
            return self.create_response
        body = json.loads(request.content)
        lab = make_lab("lab-new", body["name"], LabStatus.QUEUED, percent=0, age=timedelta())
        self.labs = [lab, *self.labs]
        return httpx.Response(201, json=lab.model_dump(mode="json"))

    def _review(self, request: httpx.Request, lab_id: str) -> httpx.Response:
        self._check_reachable(request)
        if self.review_response is not None:
            return self.review_response
        return _accepted("review recorded: approve", audit_id=11)

    def _cancel(self, request: httpx.Request, lab_id: str) -> httpx.Response:
        self._check_reachable(request)
        if self.cancel_response is not None:
            return self.cancel_response
        return _accepted(f"cancel requested for {lab_id}", audit_id=12)


def _accepted(message: str, audit_id: int) -> httpx.Response:
    result = ActionResult(outcome=AuditOutcome.ACCEPTED, message=message, audit_id=audit_id)
    return httpx.Response(200, json=result.model_dump(mode="json"))


def json_body(request: httpx.Request) -> Any:
    """The JSON a request carried."""
    return json.loads(request.content)
