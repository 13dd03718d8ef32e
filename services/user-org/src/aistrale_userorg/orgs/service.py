"""Orgs: create (platform admins), list, read, update limits, delete (no FastAPI here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import NotFound
from aistrale_userorg.changes import audit_details, created_details
from aistrale_userorg.context import Context
from aistrale_userorg.errors import Unprocessable
from aistrale_userorg.keys import repository as keys_repo
from aistrale_userorg.orgs import repository as repo
from aistrale_userorg.orgs.schemas import OrgCreate, OrgPublic, OrgUpdate
from aistrale_userorg.principal import Principal
from aistrale_userorg.schemas import Page, page_of
from aistrale_userorg.tables import memberships
from aistrale_userorg.users import repository as users_repo
from aistrale_userorg.util import integrity_as_conflict, new_id, utcnow

DUPLICATE = "An organization with this name already exists"


def public(row: dict[str, Any], actor: Principal) -> OrgPublic:
    names = ("id", "name", "created_at", "rpm_limit", "tpm_limit", "queue_wait_s", "queue_priority")
    fields = {k: row.get(k) for k in names}
    return OrgPublic(**fields, tags=row.get("tags") or [], role=actor.role_in(row["id"]))


async def load(session: AsyncSession, org_id: str) -> dict[str, Any]:
    row = await repo.get(session, org_id)
    if row is None:
        raise NotFound("Organization not found", param="org_id")
    return row


async def create(ctx: Context, actor: Principal, body: OrgCreate) -> OrgPublic:
    async with ctx.uow.write(actor, "org.create", target=body.name) as tx:
        ctx.authz.check(actor, "org.create")
        row = {"id": new_id(), "created_at": utcnow(), **body.model_dump(exclude={"owner_email"})}
        row["tags"] = body.tags or None
        with integrity_as_conflict(DUPLICATE, "name"):
            await repo.insert(tx.session, **row)
        tx.about.target = tx.about.org_id = row["id"]
        tx.about.details = created_details(row)
        if body.owner_email is not None:
            await _add_owner(tx.session, row["id"], body.owner_email)
    return public(row, actor)


async def _add_owner(session: AsyncSession, org_id: str, email: str) -> None:
    user = await users_repo.by_email(session, email)
    if user is None:
        raise Unprocessable("No user has this email", param="owner_email")
    await session.execute(
        memberships.insert().values(
            org_id=org_id, user_id=user["id"], role="owner", created_at=utcnow()
        )
    )


async def list_orgs(ctx: Context, actor: Principal, limit: int, offset: int) -> Page[OrgPublic]:
    ctx.authz.check(actor, "org.list")
    only = None if actor.platform_admin else set(actor.orgs)
    async with ctx.db.session() as session:
        rows = await repo.page(session, only, limit + 1, offset)
    return page_of([public(r, actor) for r in rows], limit, offset)


async def get(ctx: Context, actor: Principal, org_id: str) -> OrgPublic:
    ctx.authz.check(actor, "org.read", org_id)
    async with ctx.db.session() as session:
        return public(await load(session, org_id), actor)


async def update(ctx: Context, actor: Principal, org_id: str, body: OrgUpdate) -> OrgPublic:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        del changes["name"]  # a name cannot be removed; null means "unchanged"
    if "tags" in changes:
        changes["tags"] = changes["tags"] or None  # stored as null, shown as []
    async with ctx.uow.write(actor, "org.update", org_id=org_id, target=org_id) as tx:
        ctx.authz.check(actor, "org.update", org_id)
        await load(tx.session, org_id)
        with integrity_as_conflict(DUPLICATE, "name"):
            await repo.update(tx.session, org_id, changes)
        tx.about.details = audit_details(changes)
        tx.emit("org.updated", org_id)
        row = await load(tx.session, org_id)
    return public(row, actor)


async def delete(ctx: Context, actor: Principal, org_id: str) -> None:
    """Deletes the org with its keys, budgets and memberships. Each key is announced as
    revoked: a router that cannot reach user-org keeps serving changed keys from its cache,
    but never a revoked one."""
    async with ctx.uow.write(actor, "org.delete", org_id=org_id, target=org_id) as tx:
        ctx.authz.check(actor, "org.delete", org_id)
        await load(tx.session, org_id)
        keys = await keys_repo.ids_and_hashes(tx.session, org_id)
        await repo.delete(tx.session, org_id)
        for key_id, key_hash in keys:
            tx.emit("key.revoked", org_id, key_id, key_hash)
        tx.emit("org.updated", org_id)
