"""Sandbox lab providers: blueprints and environments that really persist, as files on disk.

Each lab gets a folder `<root>/labs/<lab_id>/` with `blueprint.json`, one JSON file per resource
under `resources/`, and an append-only `events.log` (`created <name>` / `removed <name>`), so a test
or a curious operator can see exactly what exists and what happened, once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from backend.domains.labs.model import LabSeverity
from backend.domains.labs.providers import (
    Blueprint,
    InvalidBlueprint,
    Resource,
    ResourceSpec,
    ValidationReport,
)
from backend.store.clock import utc_now

TEMPLATES: dict[LabSeverity, list[ResourceSpec]] = {
    LabSeverity.LOW: [
        ResourceSpec(name="network", kind="network"),
        ResourceSpec(name="vm-1", kind="vm"),
        ResourceSpec(name="dns", kind="dns"),
    ],
    LabSeverity.MEDIUM: [
        ResourceSpec(name="network", kind="network"),
        ResourceSpec(name="vm-1", kind="vm"),
        ResourceSpec(name="vm-2", kind="vm"),
        ResourceSpec(name="database", kind="database"),
        ResourceSpec(name="dns", kind="dns"),
    ],
    LabSeverity.HIGH: [
        ResourceSpec(name="network", kind="network"),
        ResourceSpec(name="vm-1", kind="vm", size="large"),
        ResourceSpec(name="vm-2", kind="vm", size="large"),
        ResourceSpec(name="database", kind="database", size="large"),
        ResourceSpec(name="cache", kind="cache"),
        ResourceSpec(name="dns", kind="dns"),
    ],
    LabSeverity.CRITICAL: [
        ResourceSpec(name="network", kind="network"),
        ResourceSpec(name="vm-1", kind="vm", size="large"),
        ResourceSpec(name="vm-2", kind="vm", size="large"),
        ResourceSpec(name="vm-3", kind="vm", size="large"),
        ResourceSpec(name="database", kind="database", size="large"),
        ResourceSpec(name="cache", kind="cache"),
        ResourceSpec(name="monitoring", kind="monitoring"),
        ResourceSpec(name="dns", kind="dns"),
    ],
}
KNOWN_KINDS = frozenset({"network", "vm", "database", "cache", "monitoring", "dns"})


class SandboxLabStore:
    """The on-disk layout shared by the sandbox blueprint service and environments."""

    def __init__(self, root: Path) -> None:
        self.root = root / "labs"

    def lab_dir(self, lab_id: str) -> Path:
        """Folder of one lab's environment."""
        if not lab_id or "/" in lab_id or lab_id.startswith("."):
            raise ValueError(f"bad lab id {lab_id!r}")
        return self.root / lab_id

    def resources_dir(self, lab_id: str) -> Path:
        """Folder holding one JSON file per existing resource."""
        return self.lab_dir(lab_id) / "resources"

    def events(self, lab_id: str) -> list[str]:
        """The lab's event log lines (`created x`, `removed x`), oldest first."""
        path = self.lab_dir(lab_id) / "events.log"
        return path.read_text().splitlines() if path.exists() else []

    def log_event(self, lab_id: str, line: str) -> None:
        """Append one line to the lab's event log."""
        path = self.lab_dir(lab_id) / "events.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _write_json_atomically(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(data)
    os.replace(tmp, path)


class SandboxBlueprintService:
    """Blueprints from built-in templates by severity, stored once per lab."""

    def __init__(self, store: SandboxLabStore, step_seconds: float = 0.0) -> None:
        self._store = store
        self._step_seconds = step_seconds

    async def generate(self, lab_id: str, name: str, severity: LabSeverity) -> Blueprint:
        """The stored blueprint when there is one, else a new one from the severity's template."""
        path = self._store.lab_dir(lab_id) / "blueprint.json"
        stored = await asyncio.to_thread(_read_text, path)
        if stored is not None:
            return Blueprint.model_validate_json(stored)
        if self._step_seconds:
            await asyncio.sleep(self._step_seconds)
        blueprint = Blueprint(
            lab_id=lab_id, template=f"{severity.value}-lab", resources=TEMPLATES[severity]
        ).sealed()
        await asyncio.to_thread(self._save, lab_id, path, blueprint)
        return blueprint

    def _save(self, lab_id: str, path: Path, blueprint: Blueprint) -> None:
        _write_json_atomically(path, blueprint.model_dump_json(indent=2))
        self._store.log_event(lab_id, "blueprint generated")


class SandboxLabEnvironments:
    """Lab environments as folders of resource files; every change is logged once.

    File work runs in a thread (`asyncio.to_thread`), never on the event loop.
    """

    def __init__(self, store: SandboxLabStore, step_seconds: float = 0.0) -> None:
        self._store = store
        self._step_seconds = step_seconds

    async def ensure_resource(self, lab_id: str, spec: ResourceSpec) -> bool:
        """Create the resource file unless it exists (idempotent)."""
        path = self._store.resources_dir(lab_id) / f"{spec.name}.json"
        if await asyncio.to_thread(path.exists):
            return False
        if self._step_seconds:
            await asyncio.sleep(self._step_seconds)
        resource = Resource(name=spec.name, kind=spec.kind, size=spec.size, created_at=utc_now())
        return await asyncio.to_thread(self._create, lab_id, path, resource)

    def _create(self, lab_id: str, path: Path, resource: Resource) -> bool:
        if path.exists():
            return False
        _write_json_atomically(path, resource.model_dump_json(indent=2))
        self._store.log_event(lab_id, f"created {resource.name}")
        return True

    async def list_resources(self, lab_id: str) -> list[Resource]:
        """The resources that exist for the lab, by name."""
        return await asyncio.to_thread(self._list, lab_id)

    def _list(self, lab_id: str) -> list[Resource]:
        folder = self._store.resources_dir(lab_id)
        if not folder.exists():
            return []
        return [
            Resource.model_validate_json(path.read_text()) for path in sorted(folder.glob("*.json"))
        ]

    async def validate(self, lab_id: str, blueprint: Blueprint) -> ValidationReport:
        """Every resource of the blueprint exists and is healthy; the blueprint is sound."""
        if blueprint.checksum != blueprint.computed_checksum():
            raise InvalidBlueprint(f"blueprint of lab {lab_id} fails its checksum")
        unknown = sorted({r.kind for r in blueprint.resources} - KNOWN_KINDS)
        if unknown or not blueprint.resources:
            what = f"unknown resource kinds {', '.join(unknown)}" if unknown else "no resources"
            raise InvalidBlueprint(f"blueprint of lab {lab_id} has {what}")
        if self._step_seconds:
            await asyncio.sleep(self._step_seconds)
        existing = {r.name: r for r in await self.list_resources(lab_id)}
        problems = []
        for spec in blueprint.resources:
            found = existing.get(spec.name)
            if found is None:
                problems.append(f"resource {spec.name} is missing")
            elif not found.healthy:
                problems.append(f"resource {spec.name} is unhealthy")
        return ValidationReport(checks=len(blueprint.resources), problems=problems)

    async def remove_resource(self, lab_id: str, name: str) -> bool:
        """Delete the resource file if present (idempotent)."""
        path = self._store.resources_dir(lab_id) / f"{name}.json"
        if not await asyncio.to_thread(path.exists):
            return False
        if self._step_seconds:
            await asyncio.sleep(self._step_seconds / 2)
        return await asyncio.to_thread(self._remove, lab_id, path, name)

    def _remove(self, lab_id: str, path: Path, name: str) -> bool:
        if not path.exists():
            return False
        path.unlink(missing_ok=True)
        self._store.log_event(lab_id, f"removed {name}")
        return True

    async def forget(self, lab_id: str) -> None:
        """Remove the lab's blueprint and resource folder, keeping the event log as a record."""
        folder = self._store.lab_dir(lab_id)

        def drop() -> None:
            (folder / "blueprint.json").unlink(missing_ok=True)
            shutil.rmtree(folder / "resources", ignore_errors=True)

        await asyncio.to_thread(drop)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
