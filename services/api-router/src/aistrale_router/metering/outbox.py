"""The durable usage outbox: events RabbitMQ has not confirmed yet, in the router's database.

By default that database is the embedded SQLite file under AISTRALE_DATA_DIR (a volume in
Kubernetes), so the outbox survives a broker outage and a process restart. A row leaves the
outbox only after the broker confirmed its message; a crash between the confirm and the
delete replays it once more, which the consumer's event_id dedupe absorbs.

Replicas may share one Postgres database instead. A replayer therefore claims the rows it is
about to publish: one UPDATE stamps a fresh token and a lease deadline on the oldest rows
nobody holds, picked with FOR UPDATE SKIP LOCKED so that concurrent claims neither wait
for each other nor take the same rows. The claim commits at once (no transaction stays
open across the publish); the lease outlives any publish (the publisher checks), so no
other replica takes the rows while their holder still works on them, and a holder that
dies frees them when the lease runs out. SQLite (one process) ignores SKIP LOCKED and
runs the same statement: its writes are serialised anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from aistrale_common.clock import Clock, system_clock
from aistrale_common.db import Database
from aistrale_common.events import OutgoingMessage
from aistrale_router.tables import usage_outbox


@dataclass(frozen=True, slots=True)
class BacklogStats:
    events: int
    oldest: datetime | None

    def age_seconds(self, now: datetime) -> float:
        return (now - self.oldest).total_seconds() if self.oldest else 0.0


@dataclass(frozen=True, slots=True)
class Claim:
    """Rows held by one replayer until its lease runs out, oldest first."""

    token: str
    messages: list[OutgoingMessage]

    @property
    def event_ids(self) -> list[str]:
        return [m.message_id for m in self.messages if m.message_id]


class UsageOutbox:
    def __init__(self, db: Database, *, lease_s: float = 30.0, clock: Clock = system_clock) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self._db = db
        self.lease_s = lease_s
        self._clock = clock

    def _now(self) -> datetime:
        now = datetime.fromtimestamp(self._clock(), UTC)
        return _utc_naive(now) if self._db.dialect == "sqlite" else now

    async def put(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        now = self._now()
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

    async def claim(self, limit: int) -> Claim:
        """Takes the oldest `limit` rows that no live claim holds, for `lease_s`."""
        now = self._now()
        token, until = str(uuid.uuid4()), now + timedelta(seconds=self.lease_s)
        free = sa.or_(usage_outbox.c.claimed_until.is_(None), usage_outbox.c.claimed_until <= now)
        oldest = (
            sa.select(usage_outbox.c.event_id)
            .where(free)
            .order_by(usage_outbox.c.created_at, usage_outbox.c.event_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            sa.update(usage_outbox)
            .where(usage_outbox.c.event_id.in_(oldest.scalar_subquery()))
            .values(claim_token=token, claimed_until=until)
            .returning(*_RETURNED)
        )
        async with self._db.transaction() as session:
            returned = (await session.execute(stmt)).all()
        rows = sorted(returned, key=lambda r: (r.created_at, r.event_id))  # RETURNING: no order
        messages = [
            OutgoingMessage(routing_key=r.routing_key, body=bytes(r.body), message_id=r.event_id)
            for r in rows
        ]
        return Claim(token, messages)

    async def release(self, claim: Claim) -> None:
        """Publishing failed: the rows are free again at once (for any replayer)."""
        if not claim.messages:
            return
        stmt = (
            sa.update(usage_outbox)
            .where(
                usage_outbox.c.event_id.in_(claim.event_ids),
                usage_outbox.c.claim_token == claim.token,
            )
            .values(claim_token=None, claimed_until=None)
        )
        async with self._db.transaction() as session:
            await session.execute(stmt)

    async def delete(self, event_ids: Sequence[str]) -> None:
        """After the broker's confirm, whoever holds the rows now: they were published."""
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


_RETURNED = (
    usage_outbox.c.event_id,
    usage_outbox.c.routing_key,
    usage_outbox.c.body,
    usage_outbox.c.created_at,
)


def _utc_naive(moment: datetime) -> datetime:
    # SQLite stores datetimes without a zone: always write UTC so ordering and age hold.
    return moment.astimezone(UTC).replace(tzinfo=None)


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
