"""Sandbox tenant providers that really persist what they make, under `<sandbox>/tenants/`.

`tenants.db` (SQLite through aiosqlite) holds IdP organizations, infrastructure stacks and their
resources, deployments, DNS records and resource records, plus an append-only `events` table
(`created ...` / `removed ...`), so a test or a curious operator sees exactly what exists and what
happened, once. E-mails are `.eml` files in `outbox/`, backups JSON files in `backups/`.

Every call is idempotent, keyed by tenant id. Database work runs in aiosqlite's thread and file
work through `asyncio.to_thread`: nothing blocks the event loop. `step_seconds` is demo latency
per unit of work (0 in tests); there are no fake failure modes (FLIGHTDECK_FAIL is injected by
the activities' `@step`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosqlite

from backend.domains.tenants.model import TenantPlan
from backend.domains.tenants.providers.protocol import (
    Backup,
    Deployment,
    DnsRecord,
    Email,
    IdpOrganization,
    InfrastructureStack,
    Progress,
    TenantRef,
)
from backend.store.clock import utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS idp_organizations (
    tenant_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL,
    provider TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS infrastructure_stacks (
    tenant_id TEXT PRIMARY KEY, stack_id TEXT NOT NULL, region TEXT NOT NULL,
    plan TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS infrastructure_resources (
    tenant_id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE IF NOT EXISTS deployments (
    tenant_id TEXT PRIMARY KEY, deployment_id TEXT NOT NULL, version TEXT NOT NULL,
    url TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dns_records (
    tenant_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, name, type)
);
CREATE TABLE IF NOT EXISTS resource_records (
    tenant_id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, event TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

HOLDING_TABLES: dict[str, str] = {
    "idp_organizations": "org_id",
    "infrastructure_stacks": "stack_id",
    "infrastructure_resources": "name",
    "deployments": "deployment_id",
    "dns_records": "type || ' ' || name",
    "resource_records": "name",
}
"""Tables holding what the sandbox made for a tenant → the expression naming one row."""

INFRASTRUCTURE: dict[TenantPlan, tuple[str, ...]] = {
    TenantPlan.FREE: ("network", "database"),
    TenantPlan.STANDARD: ("network", "database", "app-cluster", "load-balancer"),
    TenantPlan.PREMIUM: (
        "network",
        "database",
        "app-cluster",
        "load-balancer",
        "cache",
        "object-storage",
    ),
    TenantPlan.ENTERPRISE: (
        "network",
        "database",
        "database-replica",
        "app-cluster",
        "load-balancer",
        "cache",
        "object-storage",
        "firewall",
    ),
}
"""The infrastructure resources of each plan, in the order they are made."""
DEPLOY_STAGES = ("build image", "push image", "roll out", "health check")
RESOURCE_RECORDS = ("admin-user", "default-workspace", "billing-account", "usage-limits")
APP_VERSION = "1.0.0"
DNS_ZONE = "tenants.flightdeck.example"
SENDER = "Flightdeck <noreply@flightdeck.example>"


class SandboxTenantWorld:
    """The sandbox's storage: one SQLite database, an outbox folder and a backups folder."""

    def __init__(self, sandbox_root: Path, step_seconds: float = 0.0) -> None:
        self.root = sandbox_root / "tenants"
        self.database = self.root / "tenants.db"
        self.outbox = self.root / "outbox"
        self.backups = self.root / "backups"
        self.step_seconds = step_seconds
        self._ready = False

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[aiosqlite.Connection]:
        """A connection to the sandbox database (schema made on first use). Writers from other
        activities or worker processes wait for each other (busy timeout), never fail."""
        if not self._ready:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
            async with aiosqlite.connect(self.database, timeout=30) as db:
                await db.executescript(SCHEMA)
                await db.commit()
            self._ready = True
        async with aiosqlite.connect(self.database, timeout=30) as db:
            db.row_factory = aiosqlite.Row
            yield db

    async def pause(self, units: float = 1.0) -> None:
        """Demo latency for `units` of work."""
        if self.step_seconds:
            await asyncio.sleep(self.step_seconds * units)

    async def insert_once(self, table: str, row: dict[str, Any], event: str) -> bool:
        """Insert `row` unless its key exists; log `event` when this call made it."""
        row = {**row, "created_at": utc_now().isoformat()}
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        async with self.connect() as db:
            cursor = await db.execute(
                f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
            )
            made = cursor.rowcount > 0
            if made:
                await _log(db, row["tenant_id"], event)
            await db.commit()
        return made

    async def delete(self, table: str, tenant_id: str, event: str, **where: str) -> int:
        """Delete the tenant's rows of `table` (matching `where`); log `event` if any went."""
        condition = " AND ".join(["tenant_id = ?", *(f"{column} = ?" for column in where)])
        async with self.connect() as db:
            cursor = await db.execute(
                f"DELETE FROM {table} WHERE {condition}", (tenant_id, *where.values())
            )
            removed = max(cursor.rowcount, 0)
            if removed:
                await _log(db, tenant_id, event)
            await db.commit()
        return removed

    async def rows(self, table: str, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's rows of `table`, oldest first."""
        async with (
            self.connect() as db,
            db.execute(
                f"SELECT * FROM {table} WHERE tenant_id = ? ORDER BY rowid", (tenant_id,)
            ) as cursor,
        ):
            return [dict(row) for row in await cursor.fetchall()]

    async def holdings(self, tenant_id: str) -> dict[str, list[str]]:
        """What the sandbox holds for the tenant, by table (names only); all empty once gone."""
        found: dict[str, list[str]] = {}
        async with self.connect() as db:
            for table, label in HOLDING_TABLES.items():
                async with db.execute(
                    f"SELECT {label} FROM {table} WHERE tenant_id = ? ORDER BY rowid", (tenant_id,)
                ) as cursor:
                    found[table] = [str(row[0]) for row in await cursor.fetchall()]
        return found

    async def snapshot(self, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every row the sandbox holds for the tenant, by table (what a backup contains)."""
        return {table: await self.rows(table, tenant_id) for table in HOLDING_TABLES}

    async def events(self, tenant_id: str) -> list[str]:
        """The tenant's event log (`created ...`, `removed ...`), oldest first."""
        return [str(row["event"]) for row in await self.rows("events", tenant_id)]

    async def emails(self) -> list[EmailMessage]:
        """Every e-mail in the outbox, oldest first."""
        return await asyncio.to_thread(self._read_outbox)

    def _read_outbox(self) -> list[EmailMessage]:
        if not self.outbox.exists():
            return []
        paths = sorted(self.outbox.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        messages = []
        for path in paths:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            messages.append(message)
        return messages

    async def backup_files(self) -> list[Path]:
        """Every backup file written."""
        return await asyncio.to_thread(
            lambda: sorted(self.backups.glob("*.json")) if self.backups.exists() else []
        )


async def _log(db: aiosqlite.Connection, tenant_id: str, event: str) -> None:
    await db.execute(
        "INSERT INTO events (tenant_id, event, at) VALUES (?, ?, ?)",
        (tenant_id, event, utc_now().isoformat()),
    )


class SandboxIdentityProvider:
    """IdP organizations as rows (the sandbox's Auth0 / Keycloak)."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def create_organization(self, tenant: TenantRef) -> IdpOrganization:
        """The tenant's organization, created unless it exists."""
        existing = await self._world.rows("idp_organizations", tenant.tenant_id)
        if not existing:
            await self._world.pause()
            org_id = f"org_{tenant.tenant_id}"
            await self._world.insert_once(
                "idp_organizations",
                {
                    "tenant_id": tenant.tenant_id,
                    "org_id": org_id,
                    "name": tenant.name,
                    "provider": "sandbox",
                },
                f"created idp organization {org_id}",
            )
            existing = await self._world.rows("idp_organizations", tenant.tenant_id)
        row = existing[0]
        return IdpOrganization(id=row["org_id"], name=row["name"], provider=row["provider"])

    async def delete_organization(self, tenant: TenantRef) -> bool:
        """Delete the tenant's organization; True when this call removed it."""
        await self._world.pause(0.5)
        removed = await self._world.delete(
            "idp_organizations", tenant.tenant_id, "removed idp organization"
        )
        return removed > 0


class SandboxInfrastructure:
    """Infrastructure stacks as rows, one resource row per piece of infrastructure."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def provision(self, tenant: TenantRef, progress: Progress) -> InfrastructureStack:
        """Make the plan's stack resource by resource; existing ones are kept (resumable)."""
        world = self._world
        stack_id = f"stack-{tenant.tenant_id}"
        await world.insert_once(
            "infrastructure_stacks",
            {
                "tenant_id": tenant.tenant_id,
                "stack_id": stack_id,
                "region": tenant.region.value,
                "plan": tenant.plan.value,
            },
            f"created infrastructure stack {stack_id}",
        )
        wanted = INFRASTRUCTURE[tenant.plan]
        existing = {
            r["name"] for r in await world.rows("infrastructure_resources", tenant.tenant_id)
        }
        progress(len(existing & set(wanted)), len(wanted))
        for done, name in enumerate(wanted, start=1):
            if name not in existing:
                await world.pause()
                await world.insert_once(
                    "infrastructure_resources",
                    {"tenant_id": tenant.tenant_id, "name": name},
                    f"created infrastructure {name}",
                )
            progress(done, len(wanted))
        host = f"{tenant.tenant_id}.{tenant.region.value}.sandbox.internal"
        return InfrastructureStack(
            stack_id=stack_id,
            resources=list(wanted),
            outputs={"database_host": f"db.{host}", "load_balancer": f"lb.{host}"},
        )

    async def destroy(self, tenant: TenantRef, progress: Progress) -> bool:
        """Remove the stack's resources newest first, then the stack; True if anything went."""
        world = self._world
        names = [r["name"] for r in await world.rows("infrastructure_resources", tenant.tenant_id)]
        progress(0, len(names))
        removed = 0
        for done, name in enumerate(reversed(names), start=1):
            await world.pause(0.5)
            removed += await world.delete(
                "infrastructure_resources",
                tenant.tenant_id,
                f"removed infrastructure {name}",
                name=name,
            )
            progress(done, len(names))
        removed += await world.delete(
            "infrastructure_stacks", tenant.tenant_id, "removed infrastructure stack"
        )
        return removed > 0


class SandboxDeployments:
    """The tenant's application as a deployment row, made once its stages have run."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def deploy(self, tenant: TenantRef, progress: Progress) -> Deployment:
        """Run the deploy stages and record the deployment, unless it exists."""
        world = self._world
        existing = await world.rows("deployments", tenant.tenant_id)
        if not existing:
            total = len(DEPLOY_STAGES)
            progress(0, total)
            for done, _stage in enumerate(DEPLOY_STAGES, start=1):
                await world.pause()
                progress(done, total)
            deployment_id = f"dep-{tenant.tenant_id}"
            await world.insert_once(
                "deployments",
                {
                    "tenant_id": tenant.tenant_id,
                    "deployment_id": deployment_id,
                    "version": APP_VERSION,
                    "url": f"http://app.{tenant.tenant_id}.{tenant.region.value}.sandbox.internal",
                },
                f"created deployment {deployment_id}",
            )
            existing = await world.rows("deployments", tenant.tenant_id)
        row = existing[0]
        return Deployment(
            deployment_id=row["deployment_id"], version=row["version"], url=row["url"]
        )

    async def rollback(self, tenant: TenantRef) -> bool:
        """Undo provisioning's deployment; True when something was removed."""
        await self._world.pause(0.5)
        return (
            await self._world.delete("deployments", tenant.tenant_id, "rolled back deployment") > 0
        )

    async def remove(self, tenant: TenantRef) -> bool:
        """Remove the running application; True when something was removed."""
        await self._world.pause(0.5)
        return await self._world.delete("deployments", tenant.tenant_id, "removed deployment") > 0


class SandboxDns:
    """The tenant's DNS records as rows in the sandbox zone."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def configure(self, tenant: TenantRef) -> list[DnsRecord]:
        """Make the tenant's address and verification records (idempotent)."""
        world = self._world
        domain = f"{tenant.name}.{DNS_ZONE}"
        octet = int(hashlib.sha256(tenant.tenant_id.encode()).hexdigest()[:2], 16) % 254 + 1
        wanted = [
            DnsRecord(name=domain, type="A", value=f"203.0.113.{octet}"),
            DnsRecord(name=f"_flightdeck.{domain}", type="TXT", value=f"tenant={tenant.tenant_id}"),
        ]
        existing = {
            (r["name"], r["type"]) for r in await world.rows("dns_records", tenant.tenant_id)
        }
        for record in wanted:
            if (record.name, record.type) not in existing:
                await world.pause(0.5)
                await world.insert_once(
                    "dns_records",
                    {"tenant_id": tenant.tenant_id, **record.model_dump()},
                    f"created dns {record.type} {record.name}",
                )
        return [
            DnsRecord(name=r["name"], type=r["type"], value=r["value"])
            for r in await world.rows("dns_records", tenant.tenant_id)
        ]

    async def remove(self, tenant: TenantRef) -> int:
        """Remove the tenant's records; how many were removed."""
        await self._world.pause(0.5)
        return await self._world.delete("dns_records", tenant.tenant_id, "removed dns records")


class SandboxTenantResources:
    """The tenant's resource records (admin user, workspace, billing, limits) as rows."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def create(self, tenant: TenantRef) -> list[str]:
        """Make the resource records that are missing; every record's name."""
        world = self._world
        existing = {r["name"] for r in await world.rows("resource_records", tenant.tenant_id)}
        for name in RESOURCE_RECORDS:
            if name not in existing:
                await world.pause(0.25)
                await world.insert_once(
                    "resource_records",
                    {"tenant_id": tenant.tenant_id, "name": name},
                    f"created resource {name}",
                )
        return [r["name"] for r in await world.rows("resource_records", tenant.tenant_id)]

    async def delete(self, tenant: TenantRef) -> int:
        """Delete the resource records; how many were deleted."""
        await self._world.pause(0.5)
        return await self._world.delete(
            "resource_records", tenant.tenant_id, "removed resource records"
        )


class SandboxNotifier:
    """E-mails as `.eml` files in the outbox, one per idempotency key."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def send(self, email: Email) -> str:
        """Write the e-mail to the outbox unless its key was delivered; its message id."""
        digest = hashlib.sha256(email.key.encode()).hexdigest()
        message_id = f"<{digest[:24]}@flightdeck.sandbox>"
        path = self._world.outbox / f"{_file_stem(email.key)}-{digest[:8]}.eml"
        if await asyncio.to_thread(path.exists):
            return message_id
        await self._world.pause(0.5)
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = ", ".join(email.to)
        message["Subject"] = email.subject
        message["Date"] = format_datetime(utc_now())
        message["Message-ID"] = message_id
        message["X-Flightdeck-Key"] = email.key
        message.set_content(email.body)
        await asyncio.to_thread(_create_once, path, message.as_bytes())
        return message_id


class SandboxBackups:
    """Backups as JSON files of everything the sandbox holds for the tenant."""

    def __init__(self, world: SandboxTenantWorld) -> None:
        self._world = world

    async def backup(self, tenant: TenantRef) -> Backup:
        """Write the tenant's backup (a retry rewrites the same file); where it is."""
        world = self._world
        taken_at = utc_now()
        content = json.dumps(
            {
                "tenant": tenant.model_dump(mode="json"),
                "taken_at": taken_at.isoformat(),
                "holdings": await world.snapshot(tenant.tenant_id),
            },
            indent=2,
        ).encode()
        await world.pause()
        path = world.backups / f"{tenant.tenant_id}.json"
        await asyncio.to_thread(_replace_atomically, path, content)
        async with world.connect() as db:
            await _log(db, tenant.tenant_id, f"backed up to {path.name}")
            await db.commit()
        return Backup(location=str(path), size_bytes=len(content), created_at=taken_at)


def _file_stem(key: str) -> str:
    """A file-name-safe form of an idempotency key."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:120] or "email"


def _create_once(path: Path, content: bytes) -> bool:
    """Create `path` with `content` unless it exists (atomic: readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_bytes(content)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _replace_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
