"""Read and set an org's logging and residency (no FastAPI here). Each change is audited
and announced as `org.updated`, so routers drop the org's cached keys within a second and
the next lookup carries the new policy (aistrale_common.key_lookup)."""

from __future__ import annotations

from typing import Any

from aistrale_userorg.context import Context
from aistrale_userorg.org_policy.schemas import (
    DEFAULT_RETENTION_DAYS,
    LoggingSettings,
    ResidencySettings,
)
from aistrale_userorg.orgs import repository as repo
from aistrale_userorg.orgs.service import load
from aistrale_userorg.principal import Principal


def logging_of(row: dict[str, Any]) -> LoggingSettings:
    days = row["log_retention_days"] or DEFAULT_RETENTION_DAYS
    return LoggingSettings(bodies=bool(row["log_bodies"]), retention_days=days)


def residency_of(row: dict[str, Any]) -> ResidencySettings:
    return ResidencySettings(regions=row["allowed_regions"])


async def get_logging(ctx: Context, actor: Principal, org_id: str) -> LoggingSettings:
    ctx.authz.check(actor, "org.read", org_id)
    async with ctx.db.session() as session:
        return logging_of(await load(session, org_id))


async def put_logging(
    ctx: Context, actor: Principal, org_id: str, body: LoggingSettings
) -> LoggingSettings:
    values = {"log_bodies": body.bodies, "log_retention_days": body.retention_days}
    await _write(ctx, actor, org_id, "org.logging.set", "logging.write", values)
    return body


async def get_residency(ctx: Context, actor: Principal, org_id: str) -> ResidencySettings:
    ctx.authz.check(actor, "org.read", org_id)
    async with ctx.db.session() as session:
        return residency_of(await load(session, org_id))


async def put_residency(
    ctx: Context, actor: Principal, org_id: str, body: ResidencySettings
) -> ResidencySettings:
    regions = sorted(set(body.regions)) if body.regions is not None else None
    values = {"allowed_regions": regions}
    await _write(ctx, actor, org_id, "org.residency.set", "org.residency", values)
    return ResidencySettings(regions=regions)


async def _write(
    ctx: Context, actor: Principal, org_id: str, audit: str, action: str, values: dict[str, Any]
) -> None:
    async with ctx.uow.write(actor, audit, org_id=org_id, target=org_id) as tx:
        ctx.authz.check(actor, action, org_id)
        await load(tx.session, org_id)
        await repo.update(tx.session, org_id, values)
        tx.about.details = values
        tx.emit("org.updated", org_id)
