"""All SQL of invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import invitations


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(invitations).values(**values))


async def by_hash(session: AsyncSession, token_hash: str) -> dict[str, Any] | None:
    query = sa.select(invitations).where(invitations.c.token_hash == token_hash).with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def mark_accepted(session: AsyncSession, invitation_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(invitations).where(invitations.c.id == invitation_id).values(accepted_at=at)
    )
