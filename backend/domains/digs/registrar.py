"""The DIG registrar: DigLifecycleWorkflow and its activities, over the orchestrator chosen here
(the sandbox unless FLIGHTDECK_EMCO_URL names an EMCO orchestrator)."""

from __future__ import annotations

import logging
import os
import re

from temporalio import activity

from backend.config import ConfigError
from backend.domains.digs.activities import DigActivities
from backend.domains.digs.orchestrator import Orchestrator
from backend.domains.digs.workflow import DigLifecycleWorkflow
from backend.workflows.registry import Registrar, WorkerContext

log = logging.getLogger(__name__)

EMCO_URL_ENV = "FLIGHTDECK_EMCO_URL"
OWNER_PID_ENV = "FLIGHTDECK_SANDBOX_OWNER_PID"


def orchestrator_for(context: WorkerContext) -> Orchestrator:
    """EMCO when FLIGHTDECK_EMCO_URL is set; else the sandbox, which really starts a worker
    app's process (it stops when its owner, this worker or FLIGHTDECK_SANDBOX_OWNER_PID, ends)."""
    url = os.environ.get(EMCO_URL_ENV, "").strip()
    if url:
        if not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(f"{EMCO_URL_ENV} must be an http(s) URL, not {url!r}")
        from backend.domains.digs.emco import EmcoOrchestrator

        log.info("digs: EMCO orchestrator at %s", url)
        return EmcoOrchestrator(url)
    from backend.domains.digs.sandbox_orchestrator import SandboxOrchestrator

    owner = os.environ.get(OWNER_PID_ENV, "").strip()
    if owner and not owner.isdigit():
        raise ConfigError(f"{OWNER_PID_ENV} must be a process id, not {owner!r}")
    settings = context.settings
    return SandboxOrchestrator(
        settings.paths.sandbox / "digs",
        client=activity.client,
        worker_env={"FLIGHTDECK_DATA_DIR": str(settings.data_dir)},
        owner_pid=int(owner) if owner else None,
    )


def new_registrar(context: WorkerContext) -> Registrar:
    """Build the DIG registrar with its orchestrator."""
    orchestrator = orchestrator_for(context)
    return Registrar(
        name="digs",
        task_queue=context.task_queue,
        workflows=[DigLifecycleWorkflow],
        activities=DigActivities(orchestrator, context.faults, context.status).all(),
        on_shutdown=[orchestrator.aclose],
    )
