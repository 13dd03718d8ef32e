"""All SQL about budgets (one per org, and optionally one per key)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import budgets


async def upsert(session: AsyncSession, **values: Any) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(budgets).values(**values)
    changed = {k: values[k] for k in ("limit_micro_usd", "period", "updated_at")}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[budgets.c.scope, budgets.c.scope_id], set_=changed
        )
    )


async def get(session: AsyncSession, scope: str, scope_id: str) -> dict[str, Any] | None:
    query = sa.select(budgets).where(budgets.c.scope == scope, budgets.c.scope_id == scope_id)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def delete(session: AsyncSession, scope: str, scope_id: str) -> int:
    result = await session.execute(
        sa.delete(budgets).where(budgets.c.scope == scope, budgets.c.scope_id == scope_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)
