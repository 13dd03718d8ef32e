"""All SQL of logins: the failure throttle and the refresh-token families."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import login_throttle, refresh_tokens


async def locked_until(session: AsyncSession, email: str) -> datetime | None:
    query = sa.select(login_throttle.c.locked_until).where(login_throttle.c.email == email)
    value: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return value


async def count_failure(session: AsyncSession, email: str, now: datetime) -> int:
    """Adds one failure atomically (an upsert, safe under concurrency); returns the count."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(login_throttle).values(email=email, failures=1, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[login_throttle.c.email],
        set_={"failures": login_throttle.c.failures + 1, "updated_at": now},
    ).returning(login_throttle.c.failures)
    return int((await session.execute(stmt)).scalar_one())


async def lock(session: AsyncSession, email: str, until: datetime) -> None:
    await session.execute(
        sa.update(login_throttle).where(login_throttle.c.email == email).values(locked_until=until)
    )


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(sa.delete(login_throttle).where(login_throttle.c.email == email))


async def insert_refresh(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(refresh_tokens).values(**values))


async def refresh_by_hash(session: AsyncSession, token_hash: str) -> dict[str, Any] | None:
    query = (
        sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).with_for_update()
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def mark_used(session: AsyncSession, token_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(used_at=at)
    )


async def revoke_family(session: AsyncSession, family_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke_user(session: AsyncSession, user_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
