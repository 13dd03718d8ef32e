"""All SQL about org memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import memberships, users

_COLUMNS = (memberships.c.user_id, users.c.email, memberships.c.role, memberships.c.created_at)


async def page(session: AsyncSession, org_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    query = (
        sa.select(*_COLUMNS)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org_id)
        .order_by(memberships.c.created_at, memberships.c.user_id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def get(session: AsyncSession, org_id: str, user_id: str) -> dict[str, Any] | None:
    query = (
        sa.select(*_COLUMNS)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org_id, memberships.c.user_id == user_id)
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def insert(session: AsyncSession, org_id: str, user_id: str, role: str, at: datetime) -> None:
    await session.execute(
        sa.insert(memberships).values(org_id=org_id, user_id=user_id, role=role, created_at=at)
    )


async def set_role(session: AsyncSession, org_id: str, user_id: str, role: str) -> None:
    await session.execute(
        sa.update(memberships)
        .where(memberships.c.org_id == org_id, memberships.c.user_id == user_id)
        .values(role=role)
    )


async def remove(session: AsyncSession, org_id: str, user_id: str) -> None:
    await session.execute(
        sa.delete(memberships).where(
            memberships.c.org_id == org_id, memberships.c.user_id == user_id
        )
    )


async def owners(session: AsyncSession, org_id: str) -> int:
    query = sa.select(sa.func.count()).where(
        memberships.c.org_id == org_id, memberships.c.role == "owner"
    )
    return int((await session.execute(query)).scalar_one())
