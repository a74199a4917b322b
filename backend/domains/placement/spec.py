"""The change processor (specs/titan-placement-architecture.md, "Life of change"), declared
once: the long-lived workflow that renders each committed change and sends it to the topics of
the hosts it reaches. Hosts, deployments and the other nouns are records with their own views
and routes (`routes.py`); the processor is the domain's workflow entity.

Pure data: no Temporal, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.domain.entity import Column, EntitySpec, StatusSpec, Tone, WorkflowStart
from backend.domains.placement.messages import PROCESSOR_WORKFLOW_TYPE, ProcessorParams
from backend.domains.placement.model import (
    PROCESSOR_KIND,
    ChangeProcessor,
    CreateProcessor,
    ProcessorStatus,
)

DEFAULT_PLACEMENT_TASK_QUEUE = "flightdeck-placement"


def _params(entity_id: str, _: Mapping[str, Any]) -> ProcessorParams:
    return ProcessorParams(entity_id=entity_id)


SPEC = EntitySpec(
    kind=PROCESSOR_KIND,
    plural="processors",
    title="Change processors",
    description="The change processor: reads the placement change log in order and sends each"
    " change, rendered, to the hosts it reaches; its bookmark and lag are its progress.",
    record=ChangeProcessor,
    create=CreateProcessor,
    statuses=(
        StatusSpec(ProcessorStatus.RUNNING, Tone.WORKING),
        StatusSpec(ProcessorStatus.FAILED, Tone.BAD, final=True),
        StatusSpec(ProcessorStatus.STOPPED, Tone.ENDED, final=True),
    ),
    initial_status=ProcessorStatus.RUNNING,
    columns=(
        Column("name", "name"),
        Column("bookmark", "bookmark", compact_width=8),
        Column("head", "head", compact_width=6),
        Column("lag", "lag", compact_width=5),
        Column("messages", "messages", compact_width=8),
        Column("status", "status", compact_width=10),
        Column("progress", "caught up", compact_width=11),
        Column("age", "age", compact_width=3),
        Column("note", "error", compact_width=12),
    ),
    actions=(),
    workflow=WorkflowStart(PROCESSOR_WORKFLOW_TYPE, _params),
    task_queue=DEFAULT_PLACEMENT_TASK_QUEUE,
    task_queue_env="TEMPORAL_PLACEMENT_TASK_QUEUE",
    start_failed_status=ProcessorStatus.FAILED,
    fault_steps=("process",),
    created_message="change processor {name} started",
    detail_fields=(
        ("bookmark", "bookmark"),
        ("newest change", "head"),
        ("behind by", "lag"),
        ("oldest waiting (s)", "lag_seconds"),
        ("changes processed", "changes"),
        ("messages sent", "messages"),
    ),
)
