"""What the lab activities need from the outside world: a blueprint service and an environment API."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from backend.domains.labs.model import LabSeverity


class ResourceSpec(BaseModel):
    """One resource a lab environment needs."""

    name: str
    kind: str
    size: str = "small"


class Blueprint(BaseModel):
    """What to provision for a lab, and a checksum that validation checks."""

    lab_id: str
    template: str
    resources: list[ResourceSpec] = Field(default_factory=list)
    checksum: str = ""

    def computed_checksum(self) -> str:
        """Checksum over the blueprint's content (not the stored checksum)."""
        body = json.dumps(
            {
                "lab_id": self.lab_id,
                "template": self.template,
                "resources": self.model_dump()["resources"],
            },
            sort_keys=True,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def sealed(self) -> Blueprint:
        """This blueprint with its checksum filled in."""
        return self.model_copy(update={"checksum": self.computed_checksum()})


class Resource(BaseModel):
    """A resource that exists in a lab environment."""

    name: str
    kind: str
    size: str
    created_at: datetime
    healthy: bool = True


class ValidationReport(BaseModel):
    """What validation checked and found."""

    checks: int
    problems: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


class InvalidBlueprint(Exception):
    """The blueprint itself is wrong: retrying cannot help."""


class EnvironmentUnavailable(Exception):
    """The environment API did not answer; a retry may succeed."""


class BlueprintService(Protocol):
    """Generates the blueprint of a lab (spec §6 step 2)."""

    async def generate(self, lab_id: str, name: str, severity: LabSeverity) -> Blueprint:
        """The lab's blueprint; the same one again for the same lab (idempotent)."""
        ...


class LabEnvironments(Protocol):
    """Creates, checks and removes the resources of lab environments."""

    async def ensure_resource(self, lab_id: str, spec: ResourceSpec) -> bool:
        """Create the resource unless it exists. True when this call created it."""
        ...

    async def list_resources(self, lab_id: str) -> list[Resource]:
        """The resources that exist for the lab."""
        ...

    async def validate(self, lab_id: str, blueprint: Blueprint) -> ValidationReport:
        """Check the environment against its blueprint; InvalidBlueprint when the blueprint is bad."""
        ...

    async def remove_resource(self, lab_id: str, name: str) -> bool:
        """Delete the resource if it exists. True when this call removed it."""
        ...

    async def forget(self, lab_id: str) -> None:
        """Drop what is left of the lab's environment (after its resources are gone)."""
        ...
