"""A respx-mocked Flightdeck API for TUI tests: labs and tenants in memory (built with the real
domain models), the generic `/api/v1/{plural}` routes, needs and audit, TAC workers, and hosts
and deployments (placement) with their change processor; requests recorded, faults on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx
from pydantic import ValidationError

from backend.domain.audit import ActionResult, AuditEntry, AuditOutcome, AuditSource
from backend.domain.entities import Entity, NeedItem, NeedsList
from backend.domain.entity import EntitySpec
from backend.domain.identity import Me
from backend.domain.progress import Awaiting, Decision, Progress, Step, StepState
from backend.domains.infra.model import InfraRun, InfraStatus, PlanLine, PlanView
from backend.domains.infra.plan import ChangeAction, PlanSummary, PolicyResult
from backend.domains.infra.spec import SPEC as INFRA_SPEC
from backend.domains.labs.model import Lab, LabSeverity, LabStatus
from backend.domains.labs.spec import SPEC as LAB_SPEC
from backend.domains.placement.model import (
    Assignment,
    AssignmentState,
    ChangeProcessor,
    Deployment,
    DeploymentView,
    Host,
    HostRow,
    HostRows,
    HostView,
    Page,
    ProcessorStatus,
    Target,
    Workload,
    matches,
)
from backend.domains.placement.spec import SPEC as PLACEMENT_SPEC
from backend.domains.tac.registrations import WorkerRow, WorkerRows
from backend.domains.tenants.model import Tenant, TenantPlan, TenantRegion, TenantStatus
from backend.domains.tenants.spec import SPEC as TENANT_SPEC

BASE_URL = "http://flightdeck.test"
TOKEN = "secret-token"


def now() -> datetime:
    """The current time: sample data is made when a test starts, so ages read as written."""
    return datetime.now(UTC)


SPECS: tuple[EntitySpec, ...] = (LAB_SPEC, TENANT_SPEC, INFRA_SPEC, PLACEMENT_SPEC)

LAB_STEPS = (
    "LockLab",
    "GenerateBlueprint",
    "ProvisionEnvironment",
    "RunValidation",
    "RequestHumanReview",
    "FinalizeLab",
)
TENANT_STEPS = (
    "updateTenantStatus(PROVISIONING)",
    "createIdPOrganization",
    "provisionInfrastructure",
    "deployApplication",
    "configureDns",
    "createResources",
    "updateTenantStatus(ACTIVE)",
    "sendWelcomeEmail",
)


def steps_for(
    names: tuple[str, ...],
    created: datetime,
    percent: int,
    *,
    current: StepState | None,
    attempt: int = 1,
    detail: str | None = None,
) -> list[Step]:
    """Steps in order: those `percent` covers completed, then the current one, then pending."""
    done = min(len(names), percent * len(names) // 100)
    steps = []
    for index, name in enumerate(names):
        started = created + timedelta(seconds=20 * index)
        if index < done:
            steps.append(
                Step(
                    name=name,
                    state=StepState.COMPLETED,
                    started_at=started,
                    finished_at=started + timedelta(seconds=15),
                    attempt=1,
                )
            )
        elif index == done and current is not None:
            steps.append(
                Step(name=name, state=current, started_at=started, attempt=attempt, detail=detail)
            )
        else:
            steps.append(Step(name=name))
    return steps


def make_lab(
    lab_id: str,
    name: str,
    status: LabStatus,
    *,
    percent: int,
    severity: LabSeverity = LabSeverity.MEDIUM,
    age: timedelta = timedelta(minutes=5),
    review_round: str | None = None,
    accepts: list[str] | None = None,
    last_error: str | None = None,
    attempt: int = 1,
    status_reason: str | None = None,
    decisions: list[Decision] | None = None,
) -> Lab:
    """A lab as the API returns it, with consistent reported state and exact progress."""
    created = now() - age
    awaiting = (
        Awaiting(
            kind="review",
            since=now() - timedelta(minutes=2),
            request_id=review_round,
            prompt="Validation passed: approve to finalize",
        )
        if review_round
        else None
    )
    if accepts is None:
        accepts = [] if status.is_final else (["review", "cancel"] if awaiting else ["cancel"])
    current = None if status.is_final else StepState.WAITING if awaiting else StepState.RUNNING
    steps = steps_for(
        LAB_STEPS, created, percent, current=current, attempt=attempt, detail="working"
    )
    return Lab(
        id=lab_id,
        kind="lab",
        name=name,
        requested_by="alice",
        severity=severity,
        ttl_hours=8,
        status=status,
        status_reason=status_reason,
        workflow_id=f"lab-{lab_id}",
        created_at=created,
        updated_at=now(),
        percent=percent,
        awaiting=awaiting,
        accepts=accepts,
        last_error=last_error,
        progress=Progress(
            phase=status.value,
            percent=percent,
            steps=steps,
            awaiting=awaiting,
            accepts=accepts,
            last_error=last_error,
            decisions=decisions or [],
            done=status.is_final,
        ),
    )


def make_tenant(
    tenant_id: str,
    name: str,
    status: TenantStatus,
    *,
    percent: int,
    plan: TenantPlan = TenantPlan.STANDARD,
    region: TenantRegion = TenantRegion.US_EAST_1,
    age: timedelta = timedelta(minutes=10),
    accepts: list[str] | None = None,
    awaiting: Awaiting | None = None,
    last_error: str | None = None,
    steps: list[Step] | None = None,
) -> Tenant:
    """A tenant as the API returns it."""
    created = now() - age
    final = status in (TenantStatus.PROVISION_FAILED, TenantStatus.DEPROVISIONED)
    active = status is TenantStatus.ACTIVE
    if steps is None:
        current = None if final or active else StepState.RUNNING
        steps = steps_for(TENANT_STEPS, created, percent, current=current)
    accepts = accepts if accepts is not None else ([] if final or active else ["cancel"])
    return Tenant(
        id=tenant_id,
        kind="tenant",
        name=name,
        requested_by="bob",
        plan=plan,
        region=region,
        admin_email=f"admin@{name}.example",
        domain=f"{name}.tenants.example" if active else None,
        status=status,
        workflow_id=f"tenant-{tenant_id}",
        created_at=created,
        updated_at=now(),
        percent=percent,
        awaiting=awaiting,
        accepts=accepts,
        last_error=last_error,
        progress=Progress(
            phase=status.value,
            percent=percent,
            steps=steps,
            awaiting=awaiting,
            accepts=accepts,
            last_error=last_error,
            done=final or active,
        ),
    )


def sample_labs() -> list[Entity]:
    """Labs in every interesting state, newest first."""
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
                    at=now() - timedelta(minutes=20),
                    seq=1,
                ),
                Decision(
                    request_id=None,
                    kind="review",
                    decision="approve",
                    actor="mallory",
                    at=now() - timedelta(minutes=19),
                    accepted=False,
                    note="not waiting for review",
                    seq=2,
                ),
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
        make_lab(
            "lab-5",
            "flaky-validation",
            LabStatus.VALIDATING,
            percent=60,
            attempt=3,
            last_error="RunValidation attempt 2: smoke test failed: HTTP 502",
            age=timedelta(minutes=9),
        ),
        make_lab(
            "lab-6",
            "old-sandbox",
            LabStatus.CANCELLED,
            percent=40,
            status_reason="cancel by carol: superseded",
            age=timedelta(days=2),
        ),
    ]


def rollback_steps(created: datetime) -> list[Step]:
    """A tenant provision that failed at deploy and is rolling back (saga compensation)."""
    done = steps_for(TENANT_STEPS[:3], created, 100, current=None)
    return [
        *done,
        Step(
            name="deployApplication",
            state=StepState.FAILED,
            started_at=created + timedelta(seconds=60),
            finished_at=created + timedelta(seconds=90),
            attempt=5,
            detail="image pull failed",
        ),
        Step(
            name="rollbackDeployment",
            state=StepState.COMPLETED,
            started_at=created + timedelta(seconds=91),
            finished_at=created + timedelta(seconds=95),
            attempt=1,
            compensates="deployApplication",
        ),
        Step(
            name="destroyInfrastructure",
            state=StepState.RUNNING,
            started_at=created + timedelta(seconds=96),
            attempt=1,
            compensates="provisionInfrastructure",
        ),
    ]


def sample_tenants() -> list[Entity]:
    """Tenants in every interesting state, newest first."""
    stuck_since = now() - timedelta(minutes=5)
    return [
        make_tenant(
            "tn-1",
            "acme",
            TenantStatus.ACTIVE,
            percent=100,
            plan=TenantPlan.ENTERPRISE,
            region=TenantRegion.EU_WEST_1,
            age=timedelta(hours=3),
        ),
        make_tenant(
            "tn-2",
            "globex",
            TenantStatus.PROVISIONING,
            percent=55,
            accepts=["retry", "resolve", "cancel"],
            awaiting=Awaiting(
                kind="intervention",
                since=stuck_since,
                request_id="i-1",
                prompt="configureDns failed 5 times: SERVFAIL; retry or mark resolved",
            ),
            last_error="configureDns: SERVFAIL",
        ),
        make_tenant(
            "tn-3",
            "initech",
            TenantStatus.ROLLING_BACK,
            percent=40,
            plan=TenantPlan.PREMIUM,
            last_error="deployApplication: image pull failed",
            steps=rollback_steps(now() - timedelta(minutes=7)),
            accepts=[],
        ),
        make_tenant("tn-4", "umbrella", TenantStatus.PROVISION_FAILED, percent=30),
    ]


INFRA_STEPS = (
    "terraform_init",
    "terraform_plan",
    "evaluate_policy",
    "human_approval",
    "terraform_apply",
    "terraform_show",
)
ADMIN_POLICY = PolicyResult(
    id="no-admin-principals",
    passed=False,
    message="temporalcloud_user.breakglass grants admin access; admin principals need approval",
    resources=["temporalcloud_user.breakglass"],
)
TAGS_POLICY = PolicyResult(
    id="required-tags", passed=True, message="namespaces carry owner and environment tags"
)


def make_infra_run(
    run_id: str,
    name: str,
    status: InfraStatus,
    *,
    percent: int,
    directory: str = "namespace",
    policy: list[PolicyResult] | None = None,
    awaiting: Awaiting | None = None,
    outputs: dict[str, Any] | None = None,
    age: timedelta = timedelta(minutes=6),
) -> InfraRun:
    """An infra run as the API returns it, with a two-line plan."""
    created = now() - age
    final = status in (InfraStatus.APPLIED, InfraStatus.REJECTED, InfraStatus.FAILED)
    accepts = [] if final else (["approve", "deny", "cancel"] if awaiting else ["cancel"])
    if awaiting is not None:
        current: StepState | None = StepState.WAITING
    else:
        current = None if final else StepState.RUNNING
    policy = policy if policy is not None else [TAGS_POLICY]
    failed = [r for r in policy if not r.passed]
    return InfraRun(
        id=run_id,
        kind="infra-run",
        name=name,
        requested_by="dana",
        status=status,
        directory=directory,
        variables={"environment": "prod"},
        runner="sandbox",
        plan=PlanView(
            summary=PlanSummary(add=1, change=1),
            digest="d1",
            changes=[
                PlanLine(address="temporalcloud_user.breakglass", action=ChangeAction.CREATE),
                PlanLine(
                    address="temporalcloud_namespace.payments",
                    action=ChangeAction.UPDATE,
                    changed={"retention_days": ["30", "60"]},
                ),
            ],
        ),
        changes="+1 ~1 -0",
        policy_engine="rules",
        policy=policy,
        policy_verdict=f"{len(failed)} failed" if failed else "passed",
        outputs=outputs or {},
        workflow_id=f"infra-run-{run_id}",
        created_at=created,
        updated_at=now(),
        percent=percent,
        awaiting=awaiting,
        accepts=accepts,
        progress=Progress(
            phase=status.value,
            percent=percent,
            steps=steps_for(INFRA_STEPS, created, percent, current=current),
            awaiting=awaiting,
            accepts=accepts,
            done=final,
        ),
    )


def sample_infra_runs() -> list[Entity]:
    """Infra runs: one held by a policy failure, one applied (tests that want them add them,
    so the labs' and tenants' tests keep their Needs-you list)."""
    return [
        make_infra_run(
            "ir-1",
            "payments-admin",
            InfraStatus.AWAITING_APPROVAL,
            percent=40,
            directory="admin-user",
            policy=[ADMIN_POLICY, TAGS_POLICY],
            awaiting=Awaiting(
                kind="approval",
                since=now() - timedelta(minutes=4),
                request_id="approval-1",
                prompt="Policy failed: no-admin-principals. Approve the apply anyway, or deny"
                " it, with a reason",
            ),
        ),
        make_infra_run(
            "ir-2",
            "payments-ns",
            InfraStatus.APPLIED,
            percent=100,
            outputs={"namespace_id": "temporalcloud_namespace-payments-3f2a"},
            age=timedelta(hours=1),
        ),
    ]


def sample_audit() -> list[AuditEntry]:
    """Recorded actions, oldest first (the API answers newest first)."""
    at = now() - timedelta(minutes=30)
    return [
        AuditEntry(
            id=1,
            at=at,
            actor="alice",
            action="create",
            target_kind="lab",
            target_id="lab-1",
            outcome=AuditOutcome.ACCEPTED,
            message="lab payments-db requested (high, 8 h)",
            details={"name": "payments-db"},
        ),
        AuditEntry(
            id=2,
            at=at + timedelta(minutes=10),
            actor="bob",
            action="review.request_changes",
            target_kind="lab",
            target_id="lab-1",
            reason="open port 22 too",
            outcome=AuditOutcome.ACCEPTED,
            message="lab payments-db: review accepted",
            details={"name": "payments-db"},
        ),
        AuditEntry(
            id=3,
            at=at + timedelta(minutes=11),
            actor="mallory",
            action="review.approve",
            target_kind="lab",
            target_id="lab-1",
            outcome=AuditOutcome.REFUSED,
            message="not waiting for review",
            source=AuditSource.TEMPORAL,
            details={"name": "payments-db"},
        ),
        AuditEntry(
            id=4,
            at=at + timedelta(minutes=20),
            actor="bob",
            action="create",
            target_kind="tenant",
            target_id="tn-2",
            outcome=AuditOutcome.ACCEPTED,
            message="tenant globex requested (standard, us-east-1)",
            details={"name": "globex"},
        ),
    ]


def make_worker(
    name: str,
    task_queue: str,
    *,
    pollers: int | None,
    dig_status: str = "instantiated",
    worker_dig: str = "migration-worker",
    worker_dig_id: str | None = "dig-1",
    age: timedelta = timedelta(minutes=3),
) -> WorkerRow:
    """A TAC worker registration as `GET /api/v1/workers` returns it."""
    return WorkerRow(
        project="payments",
        composite_app="billing",
        version="v1",
        dig="billing-prod",
        tac_intent="pre-install",
        name=name,
        task_queue=task_queue,
        worker_project="payments",
        worker_composite_app="workers",
        worker_version="v1",
        worker_dig=worker_dig,
        worker_dig_id=worker_dig_id,
        dig_status=dig_status,
        pollers=pollers,
        ready=bool(pollers),
        created_at=now() - age,
    )


def sample_workers() -> list[WorkerRow]:
    """Registrations newest first: one whose worker is up, one being started, one whose DIG is
    missing."""
    return [
        make_worker("migrate", "MIGRATION_WORKFLOW", pollers=2, age=timedelta(minutes=1)),
        make_worker(
            "backfill",
            "BACKFILL",
            pollers=0,
            dig_status="instantiating",
            worker_dig="backfill-worker",
            worker_dig_id="dig-2",
        ),
        make_worker(
            "orphan",
            "ORPHAN_QUEUE",
            pollers=None,
            dig_status="not found",
            worker_dig="gone",
            worker_dig_id=None,
            age=timedelta(hours=2),
        ),
    ]


# -- placement: hosts, deployments and their assignments ----------------------------------------


@dataclass
class Placement:
    """Hosts, deployments and where each deployment is assigned, as the placement store holds
    them; `processed` is the change processor's bookmark, `head` the newest change."""

    hosts: list[Host]
    deployments: list[Deployment]
    targets: list[Target]
    workloads: list[Workload]
    assignments: list[Assignment]
    agents: dict[str, tuple[int, datetime]]
    """Each host agent's last report: its bookmark and when."""
    last_changes: dict[str, tuple[str, datetime]]
    """The newest change that reached each host: what and when."""
    processed: int
    head: int

    def host_row(self, host: Host) -> HostRow:
        """The host as `GET /api/v1/hosts` lists it."""
        mine = [a for a in self.assignments if a.host == host.name]
        what, at = self.last_changes.get(host.name, ("", None))
        bookmark, seen = self.agents.get(host.name, (None, None))
        return HostRow(
            name=host.name,
            labels=host.labels,
            deployments=len(mine),
            deployed=sum(1 for a in mine if a.state is AssignmentState.DEPLOYED),
            last_change_at=at,
            last_change=what,
            agent_bookmark=bookmark,
            agent_seen_at=seen,
        )

    def host_view(self, name: str) -> HostView | None:
        """`GET /api/v1/hosts/{name}`."""
        host = next((h for h in self.hosts if h.name == name), None)
        if host is None:
            return None
        bookmark, seen = self.agents.get(name, (None, None))
        mine = sorted((a for a in self.assignments if a.host == name), key=lambda a: a.deployment)
        return HostView(host=host, assignments=mine, agent_bookmark=bookmark, agent_seen_at=seen)

    def deployment_view(self, name: str) -> DeploymentView | None:
        """`GET /api/v1/deployments/{name}`."""
        deployment = next((d for d in self.deployments if d.name == name), None)
        if deployment is None:
            return None
        target = next((t for t in self.targets if t.name == deployment.target), None)
        rules = target.labels if target else {}
        matching = sum(1 for h in self.hosts if target and matches(rules, h.labels))
        mine = sorted((a for a in self.assignments if a.deployment == name), key=lambda a: a.host)
        workload = next((w for w in self.workloads if w.name == deployment.workload), None)
        return DeploymentView(
            deployment=deployment,
            matching_hosts=matching,
            assignments=mine,
            repo=workload.repo if workload else None,
            target_labels=target.labels if target else None,
        )

    def assignment(self, deployment: str, host: str) -> Assignment:
        """One assignment (it must exist)."""
        return next(a for a in self.assignments if (a.deployment, a.host) == (deployment, host))

    def deploy(self, deployment: str, host: str) -> None:
        """The host's agent reports it runs the deployment's current revision."""
        found = self.assignment(deployment, host)
        self.assignments = [
            a.model_copy(
                update={
                    "state": AssignmentState.DEPLOYED,
                    "deployed_revision": a.revision,
                    "deployed_at": now(),
                }
            )
            if a is found
            else a
            for a in self.assignments
        ]
        self.agents[host] = (self.processed, now())


def stored(age: timedelta, revision: int) -> dict[str, Any]:
    """What the store adds to every placement noun."""
    return {"created_at": now() - age, "updated_at": now() - age / 2, "revision": revision}


def assign(
    deployment: str,
    host: str,
    revision: int,
    state: AssignmentState,
    *,
    deployed_revision: int | None = None,
    deployed_ago: timedelta | None = None,
) -> Assignment:
    """A deployment on a host."""
    return Assignment(
        deployment=deployment,
        host=host,
        assigned_at=now() - timedelta(minutes=30),
        revision=revision,
        state=state,
        deployed_revision=deployed_revision,
        deployed_at=now() - deployed_ago if deployed_ago is not None else None,
    )


def sample_placement() -> Placement:
    """Four hosts and two deployments, the processor one change behind: `prod` (every
    kubernetes host) is deployed on edge-01 and tim-pi and sent to edge-02, whose agent still
    runs an older revision; `metrics` (one replica) is committed on tim-pi and not sent yet;
    lab-nuc (docker) takes neither and has no agent."""
    kube = {"platform": "kubernetes"}
    hosts = [
        Host(name="edge-01", labels={**kube, "region": "west"}, **stored(timedelta(days=2), 2)),
        Host(name="edge-02", labels={**kube, "region": "east"}, **stored(timedelta(days=2), 3)),
        Host(name="lab-nuc", labels={"platform": "docker"}, **stored(timedelta(hours=3), 11)),
        Host(name="tim-pi", labels={"name": "tim-pi", **kube}, **stored(timedelta(days=3), 1)),
    ]
    return Placement(
        hosts=hosts,
        deployments=[
            Deployment(
                name="metrics",
                workload="node-exporter",
                template="device-service",
                target="k8s",
                values={"port": "9100"},
                replicas=1,
                **stored(timedelta(seconds=20), 14),
            ),
            Deployment(
                name="prod",
                workload="temperature-sensor",
                template="device-service",
                target="k8s",
                values={"port": "80"},
                **stored(timedelta(minutes=10), 12),
            ),
        ],
        targets=[Target(name="k8s", labels=kube, **stored(timedelta(days=1), 6))],
        workloads=[
            Workload(
                name="temperature-sensor",
                repo="https://github.com/timfpark/temp-sensor",
                **stored(timedelta(days=1), 5),
            ),
            Workload(
                name="node-exporter",
                repo="https://github.com/prometheus/node_exporter",
                **stored(timedelta(hours=1), 13),
            ),
        ],
        assignments=[
            assign(
                "prod",
                "edge-01",
                12,
                AssignmentState.DEPLOYED,
                deployed_revision=12,
                deployed_ago=timedelta(minutes=2),
            ),
            assign(
                "prod",
                "edge-02",
                12,
                AssignmentState.EVENT_SENT,
                deployed_revision=9,
                deployed_ago=timedelta(hours=1),
            ),
            assign(
                "prod",
                "tim-pi",
                12,
                AssignmentState.DEPLOYED,
                deployed_revision=12,
                deployed_ago=timedelta(minutes=1),
            ),
            assign("metrics", "tim-pi", 14, AssignmentState.COMMITTED),
        ],
        agents={
            "edge-01": (13, now() - timedelta(seconds=5)),
            "edge-02": (9, now() - timedelta(minutes=20)),
            "tim-pi": (13, now() - timedelta(seconds=3)),
        },
        last_changes={
            "edge-01": ("update deployment prod", now() - timedelta(minutes=5)),
            "edge-02": ("update deployment prod", now() - timedelta(minutes=5)),
            "lab-nuc": ("create host lab-nuc", now() - timedelta(hours=3)),
            "tim-pi": ("create deployment metrics", now() - timedelta(seconds=20)),
        },
        processed=13,
        head=14,
    )


def make_processor(*, bookmark: int = 13, head: int = 14) -> ChangeProcessor:
    """The change processor as `GET /api/v1/processors` lists it."""
    created = now() - timedelta(days=3)
    return ChangeProcessor(
        id="proc-1",
        kind=PLACEMENT_SPEC.kind,
        name="placement",
        requested_by="flightdeck",
        status=ProcessorStatus.RUNNING,
        workflow_id="change-processor-placement",
        created_at=created,
        updated_at=now(),
        bookmark=bookmark,
        head=head,
        lag=head - bookmark,
        lag_seconds=2.5,
        messages=9,
        changes=bookmark,
    )


@dataclass
class FakeApi:
    """The Flightdeck API over respx: serves `entities` by plural, records what the TUI sent,
    refuses a wrong token, and fails when told to."""

    router: respx.MockRouter
    entities: dict[str, list[Entity]] = field(
        default_factory=lambda: {
            "labs": sample_labs(),
            "tenants": sample_tenants(),
            "infra-runs": [],
            "processors": [make_processor()],
        }
    )
    audit_entries: list[AuditEntry] = field(default_factory=sample_audit)
    workers: list[WorkerRow] = field(default_factory=sample_workers)
    """What `GET /api/v1/workers` lists."""
    placement: Placement = field(default_factory=sample_placement)
    """What the hosts and deployments routes serve."""
    placement_response: httpx.Response | None = None
    """When set, every hosts and deployments route answers this instead."""
    me: Me | None = None
    """What `GET /api/v1/me` answers (None: 404, as a backend from before identities)."""
    reachable: bool = True
    token: str = TOKEN
    list_requests: list[httpx.Request] = field(default_factory=list)
    list_response: httpx.Response | None = None
    create_response: httpx.Response | None = None
    action_response: httpx.Response | None = None

    def __post_init__(self) -> None:
        self.health_route = self.router.get("/healthz").mock(side_effect=self._health)
        self.needs_route = self.router.get("/api/v1/needs").mock(side_effect=self._needs)
        self.me_route = self.router.get("/api/v1/me").mock(side_effect=self._me)
        self.audit_route = self.router.get("/api/v1/audit").mock(side_effect=self._audit)
        self.workers_route = self.router.get("/api/v1/workers").mock(side_effect=self._workers)
        self.hosts_route = self.router.get("/api/v1/hosts").mock(side_effect=self._hosts)
        self.host_route = self.router.get(path__regex=r"^/api/v1/hosts/(?P<name>[^/]+)$").mock(
            side_effect=self._host
        )
        self.deployments_route = self.router.get("/api/v1/deployments").mock(
            side_effect=self._deployments
        )
        self.deployment_route = self.router.get(
            path__regex=r"^/api/v1/deployments/(?P<name>[^/]+)$"
        ).mock(side_effect=self._deployment)
        self.list_route = self.router.get(path__regex=r"^/api/v1/(?P<plural>[a-z-]+)$").mock(
            side_effect=self._list
        )
        self.create_route = self.router.post(path__regex=r"^/api/v1/(?P<plural>[a-z-]+)$").mock(
            side_effect=self._create
        )
        self.get_route = self.router.get(
            path__regex=r"^/api/v1/(?P<plural>[a-z-]+)/(?P<entity_id>[^/]+)$"
        ).mock(side_effect=self._get)
        self.action_route = self.router.post(
            path__regex=r"^/api/v1/(?P<plural>[a-z-]+)/(?P<entity_id>[^/]+)/(?P<action>[a-z-]+)$"
        ).mock(side_effect=self._act)

    def _me(self, request: httpx.Request) -> httpx.Response:
        if self.me is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=self.me.model_dump(mode="json"))

    # -- test helpers ------------------------------------------------------------------------

    def entity(self, entity_id: str) -> Entity:
        """The stored entity with this id (any kind)."""
        return next(e for items in self.entities.values() for e in items if e.id == entity_id)

    def replace(self, entity: Entity) -> None:
        """Change an entity in place (same position in its list)."""
        for plural, items in self.entities.items():
            self.entities[plural] = [entity if e.id == entity.id else e for e in items]

    def clear_needs(self) -> None:
        """Nothing waits for a person any more."""
        for plural, items in self.entities.items():
            self.entities[plural] = [
                e.model_copy(
                    update={
                        "awaiting": None,
                        "progress": e.progress.model_copy(update={"awaiting": None})
                        if e.progress
                        else None,
                    }
                )
                for e in items
            ]

    def action_calls(self, action: str | None = None) -> list[httpx.Request]:
        """Action requests the TUI sent (of one action name, if given)."""
        return [
            call.request
            for call in self.action_route.calls
            if action is None or call.request.url.path.rsplit("/", 1)[-1] == action
        ]

    def list_calls(self, plural: str) -> list[httpx.Request]:
        """List requests for one domain."""
        return [r for r in self.list_requests if r.url.path == f"/api/v1/{plural}"]

    # -- routes ------------------------------------------------------------------------------

    def _check(self, request: httpx.Request, *, auth: bool = True) -> httpx.Response | None:
        if not self.reachable:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if auth and request.headers.get("Authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"detail": "invalid token"})
        return None

    def _spec(self, plural: str) -> EntitySpec | None:
        return next((s for s in SPECS if s.plural == plural), None)

    def _health(self, request: httpx.Request) -> httpx.Response:
        self._check(request, auth=False)
        return httpx.Response(
            200,
            json={
                "status": "ok",
                "temporal": "connected",
                "namespace": "flightdeck",
                "temporal_address": "127.0.0.1:7233",
                "version": "0.1.0",
            },
        )

    def _needs(self, request: httpx.Request) -> httpx.Response:
        if refused := self._check(request):
            return refused
        items = []
        for spec in SPECS:
            for entity in self.entities.get(spec.plural, []):
                if entity.awaiting is None:
                    continue
                answering = [a.name for a in spec.actions_answering(entity.awaiting.kind)]
                others = [name for name in entity.accepts if name not in answering]
                items.append(
                    NeedItem(
                        kind=spec.kind,
                        plural=spec.plural,
                        id=entity.id,
                        name=entity.name,
                        status=str(entity.status),
                        awaiting=entity.awaiting,
                        actions=[a for a in answering if a in entity.accepts] + others,
                    )
                )
        items.sort(key=lambda item: item.awaiting.since)
        answer = NeedsList(items=items, total=len(items))
        return httpx.Response(200, json=answer.model_dump(mode="json"))

    def _audit(self, request: httpx.Request) -> httpx.Response:
        if refused := self._check(request):
            return refused
        params = request.url.params
        entries = list(reversed(self.audit_entries))
        if target_id := params.get("target_id"):
            entries = [e for e in entries if e.target_id == target_id]
        if target_kind := params.get("target_kind"):
            entries = [e for e in entries if e.target_kind == target_kind]
        if before_id := params.get("before_id"):
            entries = [e for e in entries if e.id < int(before_id)]
        entries = entries[: int(params.get("limit", "100"))]
        return httpx.Response(200, json={"items": [e.model_dump(mode="json") for e in entries]})

    def _workers(self, request: httpx.Request) -> httpx.Response:
        if refused := self._check(request):
            return refused
        params = request.url.params
        offset = int(params.get("offset", "0"))
        shown = self.workers[offset : offset + int(params.get("limit", "200"))]
        answer = WorkerRows(items=shown, total=len(self.workers))
        return httpx.Response(200, json=answer.model_dump(mode="json"))

    def _placement_check(self, request: httpx.Request) -> httpx.Response | None:
        if refused := self._check(request):
            return refused
        return self.placement_response

    def _hosts(self, request: httpx.Request) -> httpx.Response:
        if answer := self._placement_check(request):
            return answer
        params = request.url.params
        offset = int(params.get("offset", "0"))
        hosts = sorted(self.placement.hosts, key=lambda h: h.name)
        shown = hosts[offset : offset + int(params.get("limit", "200"))]
        answer = HostRows(
            items=[self.placement.host_row(h) for h in shown],
            total=len(hosts),
            processed=self.placement.processed,
            head=self.placement.head,
        )
        return httpx.Response(200, json=answer.model_dump(mode="json"))

    def _host(self, request: httpx.Request, name: str) -> httpx.Response:
        if answer := self._placement_check(request):
            return answer
        view = self.placement.host_view(name)
        if view is None:
            return httpx.Response(404, json={"detail": f"no host named {name}"})
        return httpx.Response(200, json=view.model_dump(mode="json"))

    def _deployments(self, request: httpx.Request) -> httpx.Response:
        if answer := self._placement_check(request):
            return answer
        params = request.url.params
        offset = int(params.get("offset", "0"))
        deployments = sorted(self.placement.deployments, key=lambda d: d.name)
        shown = deployments[offset : offset + int(params.get("limit", "200"))]
        page = Page(items=[d.model_dump(mode="json") for d in shown], total=len(deployments))
        return httpx.Response(200, json=page.model_dump(mode="json"))

    def _deployment(self, request: httpx.Request, name: str) -> httpx.Response:
        if answer := self._placement_check(request):
            return answer
        view = self.placement.deployment_view(name)
        if view is None:
            return httpx.Response(404, json={"detail": f"no deployment named {name}"})
        return httpx.Response(200, json=view.model_dump(mode="json"))

    def _list(self, request: httpx.Request, plural: str) -> httpx.Response:
        if refused := self._check(request):
            return refused
        self.list_requests.append(request)
        if self.list_response is not None:
            return self.list_response
        if self._spec(plural) is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        live = set(filter(None, request.url.params.get("live", "").split(",")))
        status = request.url.params.get("status")
        items = []
        for entity in self.entities.get(plural, []):
            if status and str(entity.status) != status:
                continue
            shown = entity if entity.id in live else entity.model_copy(update={"progress": None})
            items.append(shown.model_dump(mode="json"))
        return httpx.Response(200, json={"items": items, "total": len(items)})

    def _get(self, request: httpx.Request, plural: str, entity_id: str) -> httpx.Response:
        if refused := self._check(request):
            return refused
        for entity in self.entities.get(plural, []):
            if entity.id == entity_id:
                return httpx.Response(200, json=entity.model_dump(mode="json"))
        return httpx.Response(404, json={"detail": f"no {plural} {entity_id}"})

    def _create(self, request: httpx.Request, plural: str) -> httpx.Response:
        if refused := self._check(request):
            return refused
        if self.create_response is not None:
            return self.create_response
        spec = self._spec(plural)
        if spec is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        try:
            body = spec.create.model_validate_json(request.content)
        except ValidationError as exc:
            return httpx.Response(422, json={"detail": str(exc.errors()[0]["msg"])})
        fields = body.model_dump(mode="json")
        entity: Entity
        if spec is LAB_SPEC:
            entity = make_lab(
                "lab-new",
                fields["name"],
                LabStatus.QUEUED,
                percent=0,
                age=timedelta(),
                severity=LabSeverity(fields["severity"]),
            )
        else:
            entity = make_tenant(
                "tn-new",
                fields["name"],
                TenantStatus.PENDING,
                percent=0,
                age=timedelta(),
                plan=TenantPlan(fields["plan"]),
                region=TenantRegion(fields["region"]),
            )
        self.entities[plural] = [entity, *self.entities[plural]]
        return httpx.Response(201, json=entity.model_dump(mode="json"))

    def _act(
        self, request: httpx.Request, plural: str, entity_id: str, action: str
    ) -> httpx.Response:
        if refused := self._check(request):
            return refused
        if self.action_response is not None:
            return self.action_response
        spec = self._spec(plural)
        declared = spec.action(action) if spec else None
        if declared is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        try:
            declared.request.model_validate_json(request.content)
        except ValidationError as exc:
            return httpx.Response(422, json={"detail": str(exc.errors()[0]["msg"])})
        result = ActionResult(
            outcome=AuditOutcome.ACCEPTED,
            message=f"{spec.kind if spec else ''} {entity_id}: {action} accepted",
            audit_id=99,
        )
        return httpx.Response(200, json=result.model_dump(mode="json"))


def json_body(request: httpx.Request) -> Any:
    """The JSON a request carried."""
    return json.loads(request.content)
