"""All SQL of the audit log: append under the chain-head lock, filter, walk the chain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_userorg.audit.chain import AuditEntry, entry_row, row_hash
from aistrale_userorg.tables import audit_head, audit_log

HEAD_ID = 1


@dataclass(frozen=True)
class AuditFilter:
    org_id: str | None = None
    actor_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def append(session: AsyncSession, entries: Sequence[AuditEntry]) -> None:
    """Links the entries after the current head. The head row is locked (FOR UPDATE on
    Postgres; SQLite has one writer) so concurrent appends form one chain."""
    head_query = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    seq, prev = (await session.execute(head_query.with_for_update())).one()
    for entry in entries:
        row = entry_row(entry)
        seq += 1
        digest = row_hash(seq, prev, row)
        await session.execute(
            sa.insert(audit_log).values(seq=seq, prev_hash=prev, hash=digest, **row)
        )
        prev = digest
    await session.execute(
        sa.update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, hash=prev)
    )


def _conditions(f: AuditFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    for column, value in (
        (audit_log.c.org_id, f.org_id),
        (audit_log.c.actor_id, f.actor_id),
        (audit_log.c.action, f.action),
        (audit_log.c.outcome, f.outcome),
    ):
        if value is not None:
            conditions.append(column == value)
    if f.since is not None:
        conditions.append(audit_log.c.occurred_at >= f.since)
    if f.until is not None:
        conditions.append(audit_log.c.occurred_at < f.until)
    return conditions


async def search(
    session: AsyncSession, f: AuditFilter, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = (
        sa.select(audit_log)
        .where(*_conditions(f))
        .order_by(audit_log.c.seq.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def head(session: AsyncSession) -> tuple[int, str]:
    query = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    seq, digest = (await session.execute(query)).one()
    return int(seq), str(digest)


async def walk(session: AsyncSession, page: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every row in sequence order, a page at a time."""
    after = 0
    while True:
        query = (
            sa.select(audit_log)
            .where(audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(page)
        )
        rows = [dict(r) for r in (await session.execute(query)).mappings()]
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = int(rows[-1]["seq"])
