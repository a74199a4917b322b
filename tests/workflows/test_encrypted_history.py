"""With payload encryption on, Temporal's history holds ciphertext only, while a client with the
keys (and its worker) sees the real input and result."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from backend.domains.infra.model import CreateInfraRun, InfraStatus, InfraStep
from backend.runtime.codec import ENCODING, KEY_ID_METADATA
from backend.runtime.codec_keys import KeyRing
from backend.runtime.temporal_client import TemporalTarget, connect
from tests.stack import eventually, platform_stack

SECRET = "hunter2-launch-code"
KEYS = ["k1:" + base64.b64encode(b"1" * 32).decode()]


class Credentials(BaseModel):
    """A workflow input nobody should read in Temporal's history."""

    user: str
    password: str


@activity.defn
async def greet(credentials: Credentials) -> str:
    """Proves the worker sees the decrypted input."""
    return f"hello {credentials.user}, your password is {credentials.password}"


@workflow.defn(sandboxed=False)
class SecretWorkflow:
    """Passes its input to an activity and returns what it says."""

    @workflow.run
    async def run(self, credentials: Credentials) -> str:
        return await workflow.execute_activity(
            greet, credentials, start_to_close_timeout=timedelta(seconds=10)
        )


async def test_history_holds_ciphertext_and_the_keyed_client_reads_plaintext(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    target = TemporalTarget(
        address=dev_env.client.service_client.config.target_host,
        namespace="flightdeck",
        connect_args={},
    )
    keyed: Client = await connect(
        target, keyring=KeyRing.parse(KEYS, source="test keys"), wait_seconds=5
    )
    workflow_id = f"secret-{uuid.uuid4().hex[:8]}"

    async with Worker(keyed, task_queue=task_queue, workflows=[SecretWorkflow], activities=[greet]):
        result = await keyed.execute_workflow(
            SecretWorkflow.run,
            Credentials(user="ada", password=SECRET),
            id=workflow_id,
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=30),
        )

    assert result == f"hello ada, your password is {SECRET}"
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    (stored,) = started.workflow_execution_started_event_attributes.input.payloads
    assert stored.metadata["encoding"] == ENCODING
    assert stored.metadata[KEY_ID_METADATA] == b"k1"
    assert SECRET.encode() not in stored.data
    every_event = b"".join(event.SerializeToString() for event in history.events)
    assert SECRET.encode() not in every_event  # activity input and result, workflow result


async def test_an_infra_run_works_encrypted_end_to_end(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    """Every Flightdeck worker and the API's client encrypt: an infra run's variables and its
    failures are ciphertext in history, and its live progress (heartbeat details, the last
    failure of a retried step) still reads."""
    target = TemporalTarget(
        address=dev_env.client.service_client.config.target_host,
        namespace="flightdeck",
        connect_args={},
    )
    keyed = await connect(target, keyring=KeyRing.parse(KEYS, source="test keys"), wait_seconds=5)
    directory = tmp_path / "config"
    directory.mkdir()
    users = [
        {"type": "temporalcloud_user", "name": f"u{i}", "attributes": {"email": "${var.owner}"}}
        for i in range(6)
    ]
    (directory / "resources.yaml").write_text(
        yaml.safe_dump({"variables": {"owner": {}}, "resources": users})
    )
    async with platform_stack(
        keyed, tmp_path, task_queue, step_seconds=0.3, faults="apply:1"
    ) as stack:
        run = await stack.service("infra-run").create(
            CreateInfraRun(
                name="secret",
                directory=str(directory),
                variables={"owner": SECRET},
                requested_by="alice",
            )
        )
        moving = await eventually(
            lambda: stack.service("infra-run").get(run.id),
            lambda r: (
                r.progress is not None
                and any(
                    s.name == InfraStep.APPLY and "/6" in (s.detail or "") for s in r.progress.steps
                )
            ),
        )
        assert moving.progress is not None and moving.progress.phase == InfraStatus.APPLYING
        await stack.wait_status("infra-run", run.id, InfraStatus.APPLIED)
    history = await dev_env.client.get_workflow_handle(run.workflow_id).fetch_history()
    every_event = b"".join(event.SerializeToString() for event in history.events)
    assert SECRET.encode() not in every_event
    assert b"apply failed on attempt 1" not in every_event
