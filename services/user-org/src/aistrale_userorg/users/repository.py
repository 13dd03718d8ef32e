"""All SQL about users, their memberships and their admin API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.tables import admin_api_keys, memberships, users


async def insert_user(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(users).values(**values))


async def by_id(session: AsyncSession, user_id: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(users).where(users.c.id == user_id))).mappings().first()
    return dict(row) if row else None


async def by_email(session: AsyncSession, email: str) -> dict[str, Any] | None:
    query = sa.select(users).where(users.c.email == email)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def roles_of(session: AsyncSession, user_id: str) -> dict[str, str]:
    query = sa.select(memberships.c.org_id, memberships.c.role).where(
        memberships.c.user_id == user_id
    )
    return {r.org_id: r.role for r in (await session.execute(query)).all()}


async def list_users(session: AsyncSession, limit: int, offset: int) -> list[dict[str, Any]]:
    query = sa.select(users).order_by(users.c.created_at, users.c.id).limit(limit).offset(offset)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def any_platform_admin(session: AsyncSession) -> bool:
    query = sa.select(users.c.id).where(users.c.platform_admin.is_(True)).limit(1)
    return (await session.execute(query)).first() is not None


async def set_password(session: AsyncSession, user_id: str, password_hash: str) -> None:
    await session.execute(
        sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def insert_admin_key(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(admin_api_keys).values(**values))


async def admin_keys_of(
    session: AsyncSession, user_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = (
        sa.select(admin_api_keys)
        .where(admin_api_keys.c.user_id == user_id)
        .order_by(admin_api_keys.c.created_at, admin_api_keys.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def admin_key(session: AsyncSession, user_id: str, key_id: str) -> dict[str, Any] | None:
    query = sa.select(admin_api_keys).where(
        admin_api_keys.c.id == key_id, admin_api_keys.c.user_id == user_id
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def admin_key_by_hash(session: AsyncSession, key_hash: str) -> dict[str, Any] | None:
    query = sa.select(admin_api_keys).where(admin_api_keys.c.key_hash == key_hash)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def revoke_admin_key(session: AsyncSession, key_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(admin_api_keys)
        .where(admin_api_keys.c.id == key_id, admin_api_keys.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def touch_admin_key(session: AsyncSession, key_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(admin_api_keys).where(admin_api_keys.c.id == key_id).values(last_used_at=at)
    )
