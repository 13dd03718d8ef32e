"""All SQL about prompt templates and their versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aistrale_userorg.tables import prompt_versions, prompts

Executor = AsyncSession | AsyncConnection


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(prompts).values(**values))


async def add_version(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(prompt_versions).values(**values))


async def get(
    session: Executor, org_id: str, prompt_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    query = sa.select(prompts).where(prompts.c.id == prompt_id, prompts.c.org_id == org_id)
    if for_update:
        query = query.with_for_update()  # two concurrent updates must not take one number
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def version(session: Executor, prompt_id: str, number: int) -> dict[str, Any] | None:
    query = sa.select(prompt_versions).where(
        prompt_versions.c.prompt_id == prompt_id, prompt_versions.c.version == number
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def versions(session: AsyncSession, prompt_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(prompt_versions)
        .where(prompt_versions.c.prompt_id == prompt_id)
        .order_by(prompt_versions.c.version)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def list_for_org(
    session: AsyncSession, org_id: str, archived: bool, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = sa.select(prompts).where(prompts.c.org_id == org_id)
    if not archived:
        query = query.where(prompts.c.archived_at.is_(None))
    query = query.order_by(prompts.c.created_at, prompts.c.id).limit(limit).offset(offset)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def set_latest(session: AsyncSession, prompt_id: str, number: int, **values: Any) -> None:
    await session.execute(
        sa.update(prompts).where(prompts.c.id == prompt_id).values(latest_version=number, **values)
    )


async def archive(session: AsyncSession, prompt_id: str, at: datetime) -> None:
    await session.execute(
        sa.update(prompts).where(prompts.c.id == prompt_id).values(archived_at=at, updated_at=at)
    )
