"""`flightdeck api` and `flightdeck worker` as separate processes with separate data dirs: the
worker reports status to the API over HTTP and never touches the API's store."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.e2e.processes import WORKER_READY, flightdeck_env, running
from tests.stack import eventually


async def test_api_and_worker_with_separate_data_dirs_bring_a_lab_and_a_tenant_to_their_ends(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"split-{uuid.uuid4().hex[:8]}"
    api_dir, worker_dir = tmp_path / "api", tmp_path / "worker"
    async with running(
        "api", "--port", "0", env=flightdeck_env(dev_env, api_dir, queue), log_dir=tmp_path
    ) as api_process:
        token_file = api_dir / "api-token"
        worker_env = flightdeck_env(dev_env, worker_dir, queue)
        async with running(
            "worker",
            "--api",
            api_process.url,
            "--token-file",
            str(token_file),
            "--data-dir",
            str(worker_dir),
            env=worker_env,
            log_dir=tmp_path,
            ready=WORKER_READY,
        ):
            headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
            async with httpx.AsyncClient(
                base_url=api_process.url, headers=headers, timeout=10
            ) as api:
                created = await api.post(
                    "/api/v1/labs", json={"name": "split", "requested_by": "ci"}
                )
                assert created.status_code == 201, created.text
                lab_id = created.json()["id"]

                async def lab() -> dict[str, Any]:
                    body: dict[str, Any] = (await api.get(f"/api/v1/labs/{lab_id}")).json()
                    return body

                await eventually(lab, lambda b: b["status"] == "awaiting_review", timeout=60)
                approved = await api.post(
                    f"/api/v1/labs/{lab_id}/review", json={"decision": "approve", "reviewer": "ci"}
                )
                assert approved.json()["outcome"] == "accepted", approved.text
                await eventually(lab, lambda b: b["status"] == "running", timeout=60)
                cancelled = await api.post(
                    f"/api/v1/labs/{lab_id}/cancel", json={"reason": "done", "actor": "ci"}
                )
                assert cancelled.json()["outcome"] == "accepted", cancelled.text
                ended = await eventually(lab, lambda b: b["status"] == "cancelled", timeout=60)
                assert ended["percent"] == 100
                assert "cancelled by ci: done" in ended["status_reason"]

                created = await api.post(
                    "/api/v1/tenants",
                    json={"name": "split", "admin_email": "ops@split.test", "requested_by": "ci"},
                )
                assert created.status_code == 201, created.text
                tenant_id = created.json()["id"]

                async def tenant() -> dict[str, Any]:
                    body: dict[str, Any] = (await api.get(f"/api/v1/tenants/{tenant_id}")).json()
                    return body

                active = await eventually(
                    tenant,
                    lambda b: b["status"] == "ACTIVE" and (b["progress"] or {}).get("done"),
                    timeout=60,
                )
                assert active["domain"] and active["percent"] == 100
                removal = await api.post(
                    f"/api/v1/tenants/{tenant_id}/deprovision", json={"actor": "ci"}
                )
                assert removal.json()["outcome"] == "accepted", removal.text
                gone = await eventually(
                    tenant, lambda b: b["status"] == "DEPROVISIONED", timeout=60
                )
                assert gone["percent"] == 100
    assert not (worker_dir / "flightdeck.db").exists()  # the worker never opened a store
    assert (worker_dir / "sandbox" / "labs" / lab_id / "events.log").exists()
    assert (worker_dir / "sandbox" / "tenants").exists()
    assert not (api_dir / "sandbox" / "labs").exists()
    assert not (api_dir / "sandbox" / "tenants").exists()
