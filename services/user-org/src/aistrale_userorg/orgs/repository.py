"""All SQL about orgs."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import orgs


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(orgs).values(**values))


async def get(session: AsyncSession, org_id: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(orgs).where(orgs.c.id == org_id))).mappings().first()
    return dict(row) if row else None


async def page(
    session: AsyncSession, only: Collection[str] | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = sa.select(orgs).order_by(orgs.c.created_at, orgs.c.id).limit(limit).offset(offset)
    if only is not None:
        query = query.where(orgs.c.id.in_(list(only)))
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def update(session: AsyncSession, org_id: str, values: dict[str, Any]) -> None:
    if values:
        await session.execute(sa.update(orgs).where(orgs.c.id == org_id).values(**values))


async def delete(session: AsyncSession, org_id: str) -> None:
    await session.execute(sa.delete(orgs).where(orgs.c.id == org_id))
