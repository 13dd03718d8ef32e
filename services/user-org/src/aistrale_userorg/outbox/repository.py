"""All SQL of the transactional outbox for control events."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.events import OutgoingMessage
from aistrale_common.events.schemas import ControlEvent
from aistrale_userorg.tables import outbox
from aistrale_userorg.util import utcnow


async def add(session: AsyncSession, events: Sequence[ControlEvent]) -> None:
    if not events:
        return
    rows = [
        {
            "event_id": str(e.event_id),
            "routing_key": e.routing_key(),
            "body": e.model_dump_json(),
            "created_at": utcnow(),
        }
        for e in events
    ]
    await session.execute(sa.insert(outbox), rows)


async def claim(session: AsyncSession, limit: int) -> list[tuple[int, OutgoingMessage]]:
    """The oldest pending events, locked so that another replica's relay skips them."""
    query = (
        sa.select(outbox.c.id, outbox.c.event_id, outbox.c.routing_key, outbox.c.body)
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(query)).all()
    return [
        (int(r.id), OutgoingMessage(r.routing_key, r.body.encode(), message_id=r.event_id))
        for r in rows
    ]


async def remove(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(sa.delete(outbox).where(outbox.c.id.in_(ids)))


async def pending(session: AsyncSession) -> int:
    return int((await session.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one())
