"""A DIG's apps on placement: an app that names a target becomes a deployment (`<dig>-<app>`)
of a workload (`<composite app>-<app>`) rendered from the `dig-app` template, when the DIG is
instantiated; terminating the DIG deletes those deployments, so the hosts' feeds carry
tombstones. Idempotent: a retry changes nothing more."""

from __future__ import annotations

import contextlib
import re

from pydantic import BaseModel, Field

from backend.domains.placement.messages import DigAppPlacement, DigPlacement, PlacedApp
from backend.domains.placement.model import DeploymentBody, TemplateBody, WorkloadBody
from backend.store.database import Database
from backend.store.placement import InUse, Invalid, NameTaken, NotFoundError, PlacementStore

DIG_TEMPLATE = "dig-app"
DIG_TEMPLATE_TEXT = """\
# ${deployment}: app ${app} of DIG ${dig} (${project}/${composite_app}/${version})
app: ${app}
kind: ${kind}
workload: ${workload}
source: ${repo}
host: ${host}
"""
SYSTEM_ACTOR = "flightdeck"


def placement_name(*parts: str) -> str:
    """A placement name (a DNS label) made of `parts`: lower case, other characters as `-`."""
    text = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", text)[:63].strip("-") or "app"


class PlacementAnswer(BaseModel):
    """What placing (or removing) a DIG's apps did, or why it was refused."""

    apps: list[PlacedApp] = Field(default_factory=list)
    refused: str | None = None


async def place_dig_apps(database: Database, request: DigPlacement) -> PlacementAnswer:
    """Place (or, `remove`, unplace) the DIG's apps that name a target; Invalid when a target
    is missing."""
    store = PlacementStore(database)
    placed: list[PlacedApp] = []
    targeted = [app for app in request.apps if app.target]
    if targeted and not request.remove and await store.get("template", DIG_TEMPLATE) is None:
        with contextlib.suppress(NameTaken):  # made meanwhile by another DIG
            await store.create(
                "template",
                TemplateBody(name=DIG_TEMPLATE, body=DIG_TEMPLATE_TEXT),
                actor=SYSTEM_ACTOR,
            )
    for app in targeted:
        deployment = placement_name(request.dig, app.name)
        if request.remove:
            with contextlib.suppress(NotFoundError):
                await store.delete("deployment", deployment, actor=request.actor)
            placed.append(PlacedApp(app=app.name, deployment=deployment, target=app.target or ""))
            continue
        placed.append(await _place(store, request, app, deployment))
    return PlacementAnswer(apps=placed)


async def _place(
    store: PlacementStore, request: DigPlacement, app: DigAppPlacement, deployment: str
) -> PlacedApp:
    assert app.target is not None
    if await store.get("target", app.target) is None:
        raise Invalid(f"app {app.name}: no target named {app.target}")
    workload = placement_name(request.composite_app, app.name)
    repo = f"emco://{request.project}/{request.composite_app}/{request.version}/{app.name}"
    if await store.get("workload", workload) is None:
        await store.create("workload", WorkloadBody(name=workload, repo=repo), actor=request.actor)
    else:
        await store.update("workload", workload, {"repo": repo}, actor=request.actor)
    fields = {
        "workload": workload,
        "template": DIG_TEMPLATE,
        "target": app.target,
        "values": {
            "app": app.name,
            "kind": app.kind,
            "dig": request.dig,
            "project": request.project,
            "composite_app": request.composite_app,
            "version": request.version,
        },
        "replicas": None,
    }
    try:
        if await store.get("deployment", deployment) is None:
            await store.create(
                "deployment", DeploymentBody(name=deployment, **fields), actor=request.actor
            )
        else:
            await store.update("deployment", deployment, fields, actor=request.actor)
    except InUse as err:
        raise Invalid(str(err)) from None
    return PlacedApp(app=app.name, deployment=deployment, target=app.target)
