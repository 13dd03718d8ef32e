"""All SQL about API keys, including the router's lookup by hash."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aistrale_userorg.tables import TS, api_keys, budgets, orgs

_PUBLIC = [c for c in api_keys.c if c.name not in ("key_hash", "signing_secret_sealed")]

# One round trip through the unique index on key_hash: the key, its org's limits, and the
# budgets that apply (the org's and the key's own) as at most two joined rows.
_LOOKUP = (
    sa.select(
        api_keys.c.id,
        api_keys.c.org_id,
        api_keys.c.project_id,
        api_keys.c.expires_at,
        api_keys.c.revoked_at,
        api_keys.c.allowed_models,
        api_keys.c.rpm_limit,
        api_keys.c.tpm_limit,
        api_keys.c.signing_secret_sealed,
        api_keys.c.tags,
        orgs.c.tags.label("org_tags"),
        api_keys.c.queue_wait_s,
        api_keys.c.queue_priority,
        orgs.c.queue_wait_s.label("org_queue_wait_s"),
        orgs.c.queue_priority.label("org_queue_priority"),
        orgs.c.rpm_limit.label("org_rpm_limit"),
        orgs.c.tpm_limit.label("org_tpm_limit"),
        orgs.c.log_bodies,
        orgs.c.log_retention_days,
        orgs.c.allowed_regions,
        budgets.c.scope,
        budgets.c.scope_id,
        budgets.c.limit_micro_usd,
        budgets.c.period,
    )
    .join(orgs, orgs.c.id == api_keys.c.org_id)
    .outerjoin(
        budgets,
        sa.and_(
            budgets.c.org_id == api_keys.c.org_id,
            sa.or_(
                budgets.c.scope == "org",
                sa.and_(budgets.c.scope == "key", budgets.c.scope_id == api_keys.c.id),
            ),
        ),
    )
    .where(api_keys.c.key_hash == sa.bindparam("key_hash"))
)


async def lookup(conn: AsyncConnection | AsyncSession, key_hash: str) -> list[Any]:
    return list((await conn.execute(_LOOKUP, {"key_hash": key_hash})).all())


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(api_keys).values(**values))


async def get(session: AsyncSession, org_id: str, key_id: str) -> dict[str, Any] | None:
    query = sa.select(*_PUBLIC, api_keys.c.key_hash).where(
        api_keys.c.id == key_id, api_keys.c.org_id == org_id
    )
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def page(session: AsyncSession, org_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    query = (
        sa.select(*_PUBLIC)
        .where(api_keys.c.org_id == org_id)
        .order_by(api_keys.c.created_at, api_keys.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def ids_and_hashes(session: AsyncSession, org_id: str) -> list[tuple[str, str]]:
    """Every key of the org (revoked or not): what routers must stop accepting."""
    query = sa.select(api_keys.c.id, api_keys.c.key_hash).where(api_keys.c.org_id == org_id)
    return [(str(r.id), str(r.key_hash)) for r in await session.execute(query)]


async def update(session: AsyncSession, key_id: str, values: dict[str, Any]) -> None:
    if values:
        await session.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(**values))


async def touch(session: AsyncSession, used: Mapping[str, datetime]) -> None:
    """Moves each key's last_used_at forward to its time in `used`, never back (events
    arrive out of order), in one statement whatever the number of keys. A CASE on the id
    rather than UPDATE ... FROM (VALUES ...): SQLite (embedded) runs it too, and a batch
    holds few distinct keys."""
    if not used:
        return
    newest = sa.case({k: sa.literal(at, TS) for k, at in used.items()}, value=api_keys.c.id)
    stmt = (
        sa.update(api_keys)
        .where(
            api_keys.c.id.in_(list(used)),
            sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < newest),
        )
        .values(last_used_at=newest)
    )
    await session.execute(stmt)
