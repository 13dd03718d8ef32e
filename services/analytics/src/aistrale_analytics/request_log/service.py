"""The request log (no FastAPI here): pages of requests, one request, its bodies (each read
recorded in the same transaction that reads them), storing and purging bodies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aistrale_analytics.request_log import cursor, repository
from aistrale_analytics.request_log.repository import Filters
from aistrale_analytics.request_log.schemas import (
    Body,
    BodyRead,
    RequestDetail,
    RequestPage,
    RequestRow,
)
from aistrale_analytics.request_log.sealing import opened, sealed_row
from aistrale_common.crypto import KeyRing
from aistrale_common.db import Database
from aistrale_common.errors import InvalidRequest, NotFound, ServiceUnavailable
from aistrale_common.events.request_body import RequestBodyV1

DEFAULT_WINDOW = timedelta(days=1)
MAX_LIMIT = 200
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class RequestLogService:
    def __init__(self, db: Database, keyring: KeyRing | None, clock: Clock = _now) -> None:
        self._db = db
        self._keyring = keyring
        self._clock = clock

    def filters(
        self,
        org_id: str,
        start: datetime | None,
        end: datetime | None,
        key_id: str | None = None,
        model: str | None = None,
        status: int | None = None,
    ) -> Filters:
        end = repository.utc(end) if end else self._clock()
        start = repository.utc(start) if start else end - DEFAULT_WINDOW
        if start >= end:
            raise InvalidRequest("start must be before end", param="start")
        return Filters(org_id, start, end, key_id, model, status)

    async def page(self, filters: Filters, after: str | None, limit: int) -> RequestPage:
        position = cursor.decode(after) if after else None
        async with self._db.session() as session:
            rows = await repository.page(session, filters, position, limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        last = rows[-1] if rows else None
        next_cursor = (
            cursor.encode(
                cursor.Position(last["occurred_at"], last["request_id"], last["event_id"])
            )
            if more and last
            else None
        )
        return RequestPage(data=[RequestRow(**r) for r in rows], next_cursor=next_cursor)

    async def detail(self, org_id: str, request_id: str) -> RequestDetail:
        async with self._db.session() as session:
            row = await repository.by_request_id(session, org_id, request_id)
        if row is None:
            raise NotFound(
                f"No request {request_id} in this organization", code="request_not_found"
            )
        return RequestDetail(**row)

    async def detail_with_bodies(self, org_id: str, request_id: str, user_id: str) -> RequestDetail:
        """The read is recorded before the plaintext leaves: no audit row, no body."""
        async with self._db.transaction() as session:
            row = await repository.by_request_id(session, org_id, request_id)
            if row is None:
                raise _not_found(request_id)
            sealed = await repository.body_of(session, org_id, row["event_id"])
            await repository.record_read(
                session,
                {
                    "id": str(uuid.uuid4()),
                    "org_id": org_id,
                    "request_id": request_id,
                    "user_id": user_id,
                    "read_at": self._clock(),
                    "bodies": 1 if sealed else 0,
                },
            )
        bodies = Body(**opened(self._ring(), sealed)) if sealed else None
        return RequestDetail(**row, bodies=bodies)

    async def store(self, body: RequestBodyV1) -> None:
        row = sealed_row(self._ring(), body)
        async with self._db.transaction() as session:
            await repository.insert_body(session, row)

    def _ring(self) -> KeyRing:
        if self._keyring is None:
            raise ServiceUnavailable("Request bodies are unavailable: no KEK is configured.")
        return self._keyring

    async def purge(self) -> int:
        """Deletes the bodies past their org's retention; returns how many."""
        async with self._db.transaction() as session:
            return await repository.purge(session, self._clock())

    async def rotate_kek(self, batch: int = 500) -> int:
        """Re-wraps the data keys of bodies sealed under a previous KEK with the primary one
        (the ciphertexts stay as they are); returns how many rows. A no-op without previous
        KEKs configured, so every replica may run it."""
        ring, rotated = self._ring(), 0
        while True:
            async with self._db.transaction() as session:
                rows = await repository.sealed_under_other_keks(session, ring.primary.id, batch)
                for row in rows:
                    completion = row["completion_sealed"]
                    values = {
                        "kek_id": ring.primary.id,
                        "prompt_sealed": ring.rotate(row["prompt_sealed"]),
                        "completion_sealed": ring.rotate(completion) if completion else None,
                    }
                    await repository.rewrap(session, row["event_id"], values)
            rotated += len(rows)
            if len(rows) < batch:
                return rotated

    async def body_reads(self, org_id: str, limit: int) -> list[BodyRead]:
        async with self._db.session() as session:
            return [BodyRead(**r) for r in await repository.reads(session, org_id, limit)]


def _not_found(request_id: str) -> NotFound:
    return NotFound(f"No request {request_id} in this organization", code="request_not_found")
