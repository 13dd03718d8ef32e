"""Stored responses, in the router's own database (`store`, on by default as OpenAI's).

One class over `aistrale_common.db.Database`, as the usage outbox: Postgres in production,
the embedded SQLite file under `make run`, the same migrations, the same contract tests.
Every read and delete is scoped to the org that made the response: another org's id is
not found. Rows older than the retention setting are purged by a periodic task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from aistrale_common.clock import Clock, system_clock
from aistrale_common.db import Database
from aistrale_router.tables import stored_responses


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    org_id: str
    created_at: int  # unix seconds, as the response object's `created_at`
    response: dict[str, Any]  # the Response object the client got
    history: list[dict[str, Any]]  # the input items of the conversation up to it

    @property
    def output(self) -> list[dict[str, Any]]:
        """Its output items, as input items of the next turn."""
        return list(self.response.get("output") or [])


class ResponseStore:
    def __init__(self, db: Database, retention_s: int, clock: Clock = system_clock) -> None:
        self._db = db
        self.retention_s = retention_s
        self._clock = clock

    def _oldest_kept(self) -> int:
        return int(self._clock()) - self.retention_s

    async def save(self, stored: StoredResponse) -> None:
        body = orjson.dumps({"response": stored.response, "history": stored.history})
        row = {"id": stored.id, "org_id": stored.org_id, "created_at": stored.created_at}
        async with self._db.transaction() as session:
            await session.execute(sa.insert(stored_responses), [{**row, "body": body}])

    async def get(self, org_id: str, response_id: str) -> StoredResponse | None:
        """Not found once past the retention, purged or not yet."""
        kept = stored_responses.c.created_at >= self._oldest_kept()
        query = sa.select(stored_responses).where(_owned(org_id, response_id), kept)
        async with self._db.session() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        data = orjson.loads(row.body)
        return StoredResponse(row.id, row.org_id, row.created_at, data["response"], data["history"])

    async def delete(self, org_id: str, response_id: str) -> bool:
        async with self._db.transaction() as session:
            result = await session.execute(
                sa.delete(stored_responses).where(_owned(org_id, response_id))
            )
        return bool(getattr(result, "rowcount", 0))

    async def purge(self) -> int:
        """Deletes every response past the retention; how many."""
        old = stored_responses.c.created_at < self._oldest_kept()
        stmt = sa.delete(stored_responses).where(old)
        async with self._db.transaction() as session:
            result = await session.execute(stmt)
        return int(getattr(result, "rowcount", 0))


def _owned(org_id: str, response_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(stored_responses.c.id == response_id, stored_responses.c.org_id == org_id)
