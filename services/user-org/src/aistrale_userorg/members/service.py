"""Org memberships and roles (no FastAPI here).

The policy decides who may touch which role (no escalation); this module keeps the org
from losing its last owner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import Conflict, NotFound
from aistrale_userorg.auth import repository as auth_repo
from aistrale_userorg.context import Context
from aistrale_userorg.members import repository as repo
from aistrale_userorg.members.schemas import MemberPublic, MemberUpdate
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal
from aistrale_userorg.schemas import Page, page_of
from aistrale_userorg.util import utcnow


def public(org_id: str, row: dict[str, Any]) -> MemberPublic:
    return MemberPublic(org_id=org_id, **row)


async def list_members(
    ctx: Context, actor: Principal, org_id: str, limit: int, offset: int
) -> Page[MemberPublic]:
    ctx.authz.check(actor, "member.read", org_id)
    async with ctx.db.session() as session:
        await load_org(session, org_id)
        rows = await repo.page(session, org_id, limit + 1, offset)
    return page_of([public(org_id, r) for r in rows], limit, offset)


async def _load(session: AsyncSession, org_id: str, user_id: str) -> dict[str, Any]:
    await load_org(session, org_id)
    row = await repo.get(session, org_id, user_id)
    if row is None:
        raise NotFound("Member not found", param="user_id")
    return row


async def change_role(
    ctx: Context, actor: Principal, org_id: str, user_id: str, body: MemberUpdate
) -> MemberPublic:
    async with ctx.uow.write(actor, "member.update", org_id=org_id, target=user_id) as tx:
        ctx.authz.check(actor, "member.read", org_id)
        row = await _load(tx.session, org_id, user_id)
        facts = {"new_role": body.role, "current_role": row["role"], "user_id": user_id}
        ctx.authz.check(actor, "member.update", org_id, facts)
        if row["role"] == "owner" and body.role != "owner":
            await _keep_an_owner(tx.session, org_id)
        await repo.set_role(tx.session, org_id, user_id, body.role)
        tx.about.details = {"from": row["role"], "to": body.role}
        tx.emit("user.updated", org_id, user_id=user_id)  # analytics drops cached decisions
    return public(org_id, {**row, "role": body.role})


async def remove(ctx: Context, actor: Principal, org_id: str, user_id: str) -> None:
    async with ctx.uow.write(actor, "member.remove", org_id=org_id, target=user_id) as tx:
        ctx.authz.check(actor, "member.read", org_id)
        row = await _load(tx.session, org_id, user_id)
        facts = {"current_role": row["role"], "user_id": user_id}
        ctx.authz.check(actor, "member.remove", org_id, facts)
        if row["role"] == "owner":
            await _keep_an_owner(tx.session, org_id)
        await repo.remove(tx.session, org_id, user_id)
        # The user's sessions cannot be renewed (their access tokens, short-lived, no longer
        # reach this org: roles are read live here and analytics asks us again).
        await auth_repo.revoke_user(tx.session, user_id, utcnow())
        tx.emit("user.updated", org_id, user_id=user_id)


async def _keep_an_owner(session: AsyncSession, org_id: str) -> None:
    if await repo.owners(session, org_id) <= 1:
        raise Conflict("An org must keep at least one owner", code="last_owner")
