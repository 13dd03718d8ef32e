"""Store a batch of usage events and their rollups in one transaction, once per event_id."""

from __future__ import annotations

from collections.abc import Sequence

from aistrale_analytics.ingest import repository
from aistrale_analytics.ingest.rollup import aggregate
from aistrale_common.db import Database
from aistrale_common.events.schemas import UsageEventV1


class UsageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def ingest(self, events: Sequence[UsageEventV1]) -> int:
        """Commits the new events with their rollup deltas; returns how many were new.

        Rollups only ever grow from rows this transaction inserted, so a redelivered or
        replayed event (already stored) adds nothing: counted once, and exactly."""
        unique = list({str(e.event_id): e for e in events}.values())
        if not unique:
            return 0
        async with self._db.connection() as conn:
            new_ids = await repository.insert_new_events(conn, unique, self._db.dialect)
            fresh = [e for e in unique if str(e.event_id) in new_ids]
            await repository.add_to_rollups(conn, aggregate(fresh), self._db.dialect)
        return len(fresh)
