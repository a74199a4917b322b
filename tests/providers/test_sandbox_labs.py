"""Sandbox lab providers persist what they create, once, and validate for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.domains.labs.model import LabSeverity
from backend.domains.labs.providers import InvalidBlueprint, ResourceSpec
from backend.domains.labs.sandbox import (
    SandboxBlueprintService,
    SandboxLabEnvironments,
    SandboxLabStore,
)
from backend.providers.faults import FaultPlan


@pytest.fixture
def store(tmp_path: Path) -> SandboxLabStore:
    return SandboxLabStore(tmp_path)


async def test_blueprint_is_generated_once_per_lab(store: SandboxLabStore) -> None:
    service = SandboxBlueprintService(store)
    first = await service.generate("l1", "n", LabSeverity.HIGH)
    second = await service.generate("l1", "n", LabSeverity.LOW)
    assert first == second
    assert first.checksum == first.computed_checksum()
    assert store.events("l1") == ["blueprint generated"]


async def test_resources_are_created_and_removed_once(store: SandboxLabStore) -> None:
    envs = SandboxLabEnvironments(store)
    spec = ResourceSpec(name="vm-1", kind="vm")
    assert await envs.ensure_resource("l1", spec)
    assert not await envs.ensure_resource("l1", spec)
    assert [r.name for r in await envs.list_resources("l1")] == ["vm-1"]
    assert await envs.remove_resource("l1", "vm-1")
    assert not await envs.remove_resource("l1", "vm-1")
    assert store.events("l1") == ["created vm-1", "removed vm-1"]


async def test_validation_reports_missing_resources(store: SandboxLabStore) -> None:
    blueprint = await SandboxBlueprintService(store).generate("l1", "n", LabSeverity.LOW)
    envs = SandboxLabEnvironments(store)
    await envs.ensure_resource("l1", blueprint.resources[0])
    report = await envs.validate("l1", blueprint)
    assert not report.passed
    assert report.problems == ["resource vm-1 is missing", "resource dns is missing"]


async def test_a_tampered_or_unknown_blueprint_is_invalid(store: SandboxLabStore) -> None:
    blueprint = await SandboxBlueprintService(store).generate("l1", "n", LabSeverity.LOW)
    envs = SandboxLabEnvironments(store)
    with pytest.raises(InvalidBlueprint, match="checksum"):
        await envs.validate("l1", blueprint.model_copy(update={"checksum": "x"}))
    odd = blueprint.model_copy(
        update={"resources": [ResourceSpec(name="q", kind="quantum")]}
    ).sealed()
    with pytest.raises(InvalidBlueprint, match="unknown resource kinds quantum"):
        await envs.validate("l1", odd)


def test_fault_plan_parses_counts_always_and_invalid() -> None:
    plan = FaultPlan.parse("validation:2, blueprint:invalid,deploy:always")
    assert plan.should_fail("validation", 2) and not plan.should_fail("validation", 3)
    assert plan.is_invalid("blueprint")
    assert plan.should_fail("deploy", 50)
    for bad in ("validation", "validation:often", ":3"):
        with pytest.raises(ValueError, match="FLIGHTDECK_FAIL"):
            FaultPlan.parse(bad)
