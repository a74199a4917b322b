"""The one action path, through the API: reserved idempotency keys, the workflow's own verdict,
races, and signals sent with other Temporal clients audited too."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from backend.domain.progress import Progress
from tests.api.conftest import api_client
from tests.api.test_labs_api import create, lab_status, wait_awaiting_review
from tests.stack import Stack, eventually, platform_stack


def review(lab_id: str) -> str:
    return f"/api/v1/labs/{lab_id}/review"


async def audit_of(api: httpx.AsyncClient, lab_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await api.get("/api/v1/audit", params={"target_id": lab_id})
    ).json()["items"]
    return items


async def decisions(stack: Stack, workflow_id: str) -> Progress:
    return await stack.client.get_workflow_handle(workflow_id).query(
        "progress", result_type=Progress
    )


async def test_twenty_concurrent_approvals_with_one_key_get_the_first_answer_exactly(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    body = {"decision": "approve", "reviewer": "bob", "idempotency_key": "one-key"}
    answers = await asyncio.gather(*(api.post(review(lab["id"]), json=body) for _ in range(20)))
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 200 and answers[0].json()["outcome"] == "accepted"
    reviews = [e for e in await audit_of(api, lab["id"]) if e["action"].startswith("review")]
    assert [(e["outcome"], e["idempotency_key"]) for e in reviews] == [("accepted", "one-key")]
    progress = await decisions(stack, lab["workflow_id"])
    assert [d.signal_id for d in progress.decisions] == ["one-key"]


async def test_twenty_concurrent_approvals_with_distinct_keys_get_one_acceptance(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    answers = await asyncio.gather(
        *(
            api.post(review(lab["id"]), json={"decision": "approve", "reviewer": f"r{n}"})
            for n in range(20)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 19, [a.text for a in answers]
    refusals = {a.json()["detail"] for a in answers if a.status_code == 409}
    assert all("review" in r for r in refusals), refusals
    reviews = [e for e in await audit_of(api, lab["id"]) if e["action"] == "review.approve"]
    assert sorted(e["outcome"] for e in reviews) == ["accepted"] + ["refused"] * 19
    progress = await decisions(stack, lab["workflow_id"])
    assert sum(d.accepted for d in progress.decisions) <= 1  # refused ones may never be sent
    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "running")


async def test_a_key_reused_for_another_body_or_actor_is_422_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    first = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel",
        json={"reason": "wrong lab", "actor": "carol", "idempotency_key": "k-7"},
    )
    assert first.status_code == 200
    other_body = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel",
        json={"reason": "other reason", "actor": "carol", "idempotency_key": "k-7"},
    )
    other_actor = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel",
        json={"reason": "wrong lab", "actor": "mallory", "idempotency_key": "k-7"},
    )
    other_action = await api.post(
        review(lab["id"]),
        json={"decision": "approve", "reviewer": "carol", "idempotency_key": "k-7"},
    )
    for answer in (other_body, other_actor, other_action):
        assert answer.status_code == 422, answer.text
        assert "idempotency key 'k-7' was used for a different request" in answer.json()["detail"]
    entries = await audit_of(api, lab["id"])
    assert [e["action"] for e in entries] == ["cancel", "create"]


async def test_a_refusal_is_replayed_as_the_same_409(api: httpx.AsyncClient) -> None:
    lab = await create(api)
    body = {"decision": "approve", "reviewer": "bob", "idempotency_key": "early"}
    first = await api.post(review(lab["id"]), json=body)
    assert first.status_code == 409
    await wait_awaiting_review(api, lab["id"])
    again = await api.post(review(lab["id"]), json=body)
    assert (again.status_code, again.json()) == (409, first.json())


async def test_a_review_after_a_cancel_is_refused_and_the_caller_told_why(
    api: httpx.AsyncClient,
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    cancelled = await api.post(
        f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "not needed", "actor": "carol"}
    )
    assert cancelled.status_code == 200
    late = await api.post(review(lab["id"]), json={"decision": "approve", "reviewer": "bob"})
    assert late.status_code == 409
    assert "cancel" in late.json()["detail"] or "ended" in late.json()["detail"]
    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "cancelled")


async def test_approve_racing_cancel_never_approves_a_cancelled_lab(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    approve, cancel = await asyncio.gather(
        api.post(review(lab["id"]), json={"decision": "approve", "reviewer": "bob"}),
        api.post(f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "stop", "actor": "carol"}),
    )
    assert cancel.status_code == 200, cancel.text
    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "cancelled")
    progress = await decisions(stack, lab["workflow_id"])
    taken = [d for d in progress.decisions if d.accepted]
    kinds = [d.kind for d in taken]
    assert "cancel" in kinds
    if approve.status_code == 200:
        assert kinds == ["review", "cancel"]  # the approval came first; the cancel still won
    else:
        assert approve.status_code == 409 and kinds == ["cancel"]


async def test_signals_sent_with_the_temporal_cli_are_audited_as_unauthenticated(
    dev_env: WorkflowEnvironment, stack: Stack, api: httpx.AsyncClient
) -> None:
    lab = await create(api)
    await wait_awaiting_review(api, lab["id"])
    cli = str(Path(sys.executable).parent / "temporal")
    address = dev_env.client.service_client.config.target_host

    async def signal(payload: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            cli,
            "workflow",
            "signal",
            "--address",
            address,
            "--namespace",
            dev_env.client.namespace,
            "--workflow-id",
            lab["workflow_id"],
            "--name",
            "HumanReview",
            "--input",
            payload,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, (out + err).decode()

    await signal('{"decision": "approve", "reviewer": "eve", "comment": "via cli"}')
    await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "running")
    await signal('{"decision": "request_changes", "reviewer": "mallory"}')

    def cli_rows(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return [
            (e["actor"], e["action"], e["outcome"]) for e in entries if e["source"] == "temporal"
        ]

    entries = await eventually(
        lambda: audit_of(api, lab["id"]), lambda items: len(cli_rows(items)) == 2
    )
    assert cli_rows(entries) == [
        ("mallory", "review.request_changes", "refused"),
        ("eve", "review.approve", "accepted"),
    ]
    eve = next(e for e in entries if e["actor"] == "eve")
    assert eve["details"]["authenticated"] is False and eve["reason"] == "via cli"


async def test_a_cancel_with_no_worker_is_sent_and_its_verdict_audited_when_one_comes(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with (
        platform_stack(dev_env.client, tmp_path, queue, run_worker=False) as stack,
        api_client(stack) as api,
    ):
        lab = await create(api)
        answer = await api.post(
            f"/api/v1/labs/{lab['id']}/cancel", json={"reason": "stop", "actor": "carol"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "sent"
        async with stack.worker():
            await eventually(lambda: lab_status(api, lab["id"]), lambda s: s == "cancelled")
        entries = await audit_of(api, lab["id"])
        assert [(e["action"], e["outcome"], e["source"]) for e in entries] == [
            ("cancel", "accepted", "workflow"),
            ("cancel", "sent", "flightdeck"),
            ("create", "accepted", "flightdeck"),
        ]
