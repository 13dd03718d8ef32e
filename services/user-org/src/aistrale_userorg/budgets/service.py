"""Budgets per org and per key (no FastAPI here). Routers learn of a change through a
`budget.updated` control event written in the same transaction."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import NotFound
from aistrale_userorg.budgets import repository as repo
from aistrale_userorg.budgets.schemas import BudgetPublic, BudgetSet
from aistrale_userorg.context import Context
from aistrale_userorg.keys import repository as keys_repo
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal
from aistrale_userorg.util import new_id, utcnow

Scope = Literal["org", "key"]


async def _scope(
    session: AsyncSession, org_id: str, key_id: str | None
) -> tuple[Scope, str, str | None]:
    """The budget's scope, after checking the org (and key) exist; returns the key hash."""
    await load_org(session, org_id)
    if key_id is None:
        return "org", org_id, None
    key = await keys_repo.get(session, org_id, key_id)
    if key is None:
        raise NotFound("API key not found", param="key_id")
    return "key", key_id, str(key["key_hash"])


async def get(ctx: Context, actor: Principal, org_id: str, key_id: str | None) -> BudgetPublic:
    ctx.authz.check(actor, "budget.read", org_id)
    async with ctx.db.session() as session:
        scope, scope_id, _ = await _scope(session, org_id, key_id)
        row = await repo.get(session, scope, scope_id)
    if row is None:
        raise NotFound("No budget is set", code="budget_not_set")
    return BudgetPublic(**{k: row[k] for k in BudgetPublic.model_fields if k in row})


async def put(
    ctx: Context, actor: Principal, org_id: str, key_id: str | None, body: BudgetSet
) -> BudgetPublic:
    async with ctx.uow.write(actor, "budget.set", org_id=org_id, target=key_id or org_id) as tx:
        ctx.authz.check(actor, "budget.write", org_id)
        scope, scope_id, key_hash = await _scope(tx.session, org_id, key_id)
        values = {"scope": scope, "scope_id": scope_id, **body.model_dump(), "updated_at": utcnow()}
        await repo.upsert(tx.session, id=new_id(), org_id=org_id, **values)
        tx.about.details = body.model_dump()
        tx.emit("budget.updated", org_id, key_id, key_hash)
    return BudgetPublic(org_id=org_id, **values)


async def delete(ctx: Context, actor: Principal, org_id: str, key_id: str | None) -> None:
    async with ctx.uow.write(actor, "budget.delete", org_id=org_id, target=key_id or org_id) as tx:
        ctx.authz.check(actor, "budget.write", org_id)
        scope, scope_id, key_hash = await _scope(tx.session, org_id, key_id)
        if not await repo.delete(tx.session, scope, scope_id):
            raise NotFound("No budget is set", code="budget_not_set")
        tx.emit("budget.updated", org_id, key_id, key_hash)
