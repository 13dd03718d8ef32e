"""All SQL about provider credentials, including the rotation job's compare-and-swap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aistrale_userorg.tables import provider_credentials as creds

_PUBLIC = [c for c in creds.c if c.name not in ("sealed", "kek_id")]


async def get(session: AsyncSession, org_id: str, provider: str) -> dict[str, Any] | None:
    query = sa.select(*_PUBLIC).where(creds.c.org_id == org_id, creds.c.provider == provider)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def sealed(conn: AsyncConnection, org_id: str, provider: str) -> str | None:
    query = sa.select(creds.c.sealed).where(creds.c.org_id == org_id, creds.c.provider == provider)
    value = (await conn.execute(query)).scalar_one_or_none()
    return None if value is None else str(value)


async def for_org(session: AsyncSession, org_id: str) -> list[dict[str, Any]]:
    query = sa.select(*_PUBLIC).where(creds.c.org_id == org_id).order_by(creds.c.provider)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(creds).values(**values))


async def update(session: AsyncSession, credential_id: str, values: dict[str, Any]) -> None:
    await session.execute(sa.update(creds).where(creds.c.id == credential_id).values(**values))


async def delete(session: AsyncSession, org_id: str, provider: str) -> int:
    result = await session.execute(
        sa.delete(creds).where(creds.c.org_id == org_id, creds.c.provider == provider)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def not_under(
    session: AsyncSession, kek_id: str, after_id: str, limit: int
) -> list[tuple[str, str, str, str]]:
    """(id, org_id, provider, sealed) of rows sealed under another KEK, by id after `after_id`."""
    query = (
        sa.select(creds.c.id, creds.c.org_id, creds.c.provider, creds.c.sealed)
        .where(creds.c.kek_id != kek_id, creds.c.id > after_id)
        .order_by(creds.c.id)
        .limit(limit)
    )
    return [(r.id, r.org_id, r.provider, r.sealed) for r in (await session.execute(query)).all()]


async def swap(
    session: AsyncSession, credential_id: str, old: str, new: str, kek_id: str, at: datetime
) -> int:
    """Stores `new` only if the row still holds `old`: a PUT or another replica's rotation
    in between wins, and this row is left alone."""
    result = await session.execute(
        sa.update(creds)
        .where(creds.c.id == credential_id, creds.c.sealed == old)
        .values(sealed=new, kek_id=kek_id, rotated_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_not_under(session: AsyncSession, kek_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(creds).where(creds.c.kek_id != kek_id)
    return int((await session.execute(query)).scalar_one())
