"""The durable usage outbox: events RabbitMQ has not confirmed yet, in the router's database.

By default that database is the embedded SQLite file under AISTRALE_DATA_DIR (a volume in
Kubernetes), so the outbox survives a broker outage and a process restart. A row leaves the
outbox only after the broker confirmed its message; a crash between the confirm and the
delete replays it once more, which the consumer's event_id dedupe absorbs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from aistrale_common.db import Database
from aistrale_common.events import OutgoingMessage
from aistrale_router.tables import usage_outbox


@dataclass(frozen=True, slots=True)
class BacklogStats:
    events: int
    oldest: datetime | None

    def age_seconds(self, now: datetime) -> float:
        return (now - self.oldest).total_seconds() if self.oldest else 0.0


class UsageOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        now = datetime.now(UTC)
        if self._db.dialect == "sqlite":
            now = _utc_naive(now)
        rows = [
            {
                "event_id": m.message_id,
                "routing_key": m.routing_key,
                "body": m.body,
                "created_at": now,
            }
            for m in messages
        ]
        async with self._db.transaction() as session:
            await session.execute(self._insert_ignoring_duplicates(), rows)

    def _insert_ignoring_duplicates(self) -> sa.Insert:
        # The same event may be persisted twice (a timed-out publish retried): keep one row.
        if self._db.dialect == "postgresql":
            return postgresql.insert(usage_outbox).on_conflict_do_nothing()
        return sqlite.insert(usage_outbox).on_conflict_do_nothing()

    async def peek(self, limit: int) -> list[OutgoingMessage]:
        query = (
            sa.select(usage_outbox.c.event_id, usage_outbox.c.routing_key, usage_outbox.c.body)
            .order_by(usage_outbox.c.created_at, usage_outbox.c.event_id)
            .limit(limit)
        )
        async with self._db.session() as session:
            result = await session.execute(query)
            return [
                OutgoingMessage(
                    routing_key=r.routing_key, body=bytes(r.body), message_id=r.event_id
                )
                for r in result
            ]

    async def delete(self, event_ids: Sequence[str]) -> None:
        if not event_ids:
            return
        async with self._db.transaction() as session:
            await session.execute(
                usage_outbox.delete().where(usage_outbox.c.event_id.in_(event_ids))
            )

    async def stats(self) -> BacklogStats:
        query = sa.select(sa.func.count(), sa.func.min(usage_outbox.c.created_at))
        async with self._db.session() as session:
            count, oldest = (await session.execute(query)).one()
        return BacklogStats(int(count), _as_utc(oldest))


def _utc_naive(moment: datetime) -> datetime:
    # SQLite stores datetimes without a zone: always write UTC so ordering and age hold.
    return moment.astimezone(UTC).replace(tzinfo=None)


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
