"""An org's guardrail settings (no FastAPI here): one row per org, none meaning all off.
Routers learn of a change through `guardrails.updated` within a second."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.governance.guardrails import Guardrails
from aistrale_userorg.context import Context
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal
from aistrale_userorg.tables import guardrails
from aistrale_userorg.util import utcnow


async def _read(session: AsyncSession, org_id: str) -> Guardrails:
    query = sa.select(guardrails.c.settings).where(guardrails.c.org_id == org_id)
    stored = (await session.execute(query)).scalar_one_or_none()
    return Guardrails() if stored is None else Guardrails.model_validate(stored)


async def get(ctx: Context, actor: Principal, org_id: str) -> Guardrails:
    ctx.authz.check(actor, "guardrail.read", org_id)
    async with ctx.db.session() as session:
        await load_org(session, org_id)
        return await _read(session, org_id)


async def put(ctx: Context, actor: Principal, org_id: str, body: Guardrails) -> Guardrails:
    async with ctx.uow.write(actor, "guardrails.set", org_id=org_id, target=org_id) as tx:
        ctx.authz.check(actor, "guardrail.write", org_id)
        await load_org(tx.session, org_id)
        values = {"org_id": org_id, "settings": body.model_dump(), "updated_at": utcnow()}
        dialect = postgresql if tx.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(guardrails).values(**values)
        await tx.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[guardrails.c.org_id],
                set_={"settings": values["settings"], "updated_at": values["updated_at"]},
            )
        )
        tx.about.details = body.model_dump()
        tx.emit("guardrails.updated", org_id)
    return body


async def for_router(ctx: Context, actor: Principal, org_id: str) -> Guardrails:
    ctx.authz.check(actor, "internal.guardrails.read")
    async with ctx.db.session() as session:
        return await _read(session, org_id)  # an unknown org has none: all off
