"""Request bodies in analytics' database (Postgres and SQLite, migrated): sealed field by
field, opened only with the right org and field, stored once per event, purged past the
org's retention (the clock moved forward), re-wrapped by a KEK rotation, and the request
log's keyset pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.request_log.purge import BodyPurge
from aistrale_analytics.request_log.sealing import context, opened, sealed_row
from aistrale_analytics.request_log.service import RequestLogService
from aistrale_common.crypto import CredentialDecryptError, Kek, KeyRing
from aistrale_common.db import Database
from aistrale_common.errors import InvalidRequest
from aistrale_common.events.request_body import MAX_BODY_BYTES, RequestBodyV1, capped
from aistrale_common.events.schemas import UsageEventV1

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _body(org: str, request_id: str, days: int = 1) -> RequestBodyV1:
    return RequestBodyV1(
        usage_event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{org}/{request_id}"),
        occurred_at=T0,
        request_id=request_id,
        org_id=org,
        key_id="k1",
        region="eu",
        retention_days=days,
        prompt='{"messages":[{"role":"user","content":"my secret"}]}',
        completion="the answer",
    )


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(Kek.from_text(Kek.generate_text()))


async def test_sealed_then_purged_after_retention(db: Database, ring: KeyRing) -> None:
    clock = Clock(T0)
    service = RequestLogService(db, ring, clock)
    short, long = _body("org-a", "r1", days=1), _body("org-a", "r2", days=3)
    again = short.model_copy(update={"event_id": uuid.uuid4()})  # a re-sent body, new message
    for body in (short, long, short, again):  # stored once per request
        await service.store(body)
    async with db.session() as session:
        rows = (await session.execute(sa.text("SELECT * FROM request_bodies"))).mappings().all()
    assert len(rows) == 2
    assert all(
        "secret" not in r["prompt_sealed"] and "answer" not in r["completion_sealed"] for r in rows
    )
    purge = BodyPurge(service, interval_s=3600)
    clock.now = T0 + timedelta(hours=23)
    assert await purge.run_once() == 0
    clock.now = T0 + timedelta(days=1, seconds=1)
    assert await purge.run_once() == 1  # r1's day is over, r2 stays
    clock.now = T0 + timedelta(days=3, seconds=1)
    assert await purge.run_once() == 1
    assert await purge.run_once() == 0


async def test_a_sealed_field_opens_only_in_its_own_place(db: Database, ring: KeyRing) -> None:
    row = sealed_row(ring, _body("org-a", "r1"))
    assert opened(ring, row)["prompt"].endswith('"my secret"}]}')
    swapped = {**row, "completion_sealed": row["prompt_sealed"]}
    with pytest.raises(CredentialDecryptError):
        opened(ring, swapped)  # the prompt's ciphertext is not the completion's
    with pytest.raises(CredentialDecryptError):
        ring.decrypt(row["prompt_sealed"], context("org-b", row["event_id"], "prompt"))
    other = KeyRing(Kek.from_text(Kek.generate_text()))
    with pytest.raises(CredentialDecryptError):
        opened(other, row)


def test_bodies_are_capped_on_a_character_boundary() -> None:
    text, cut = capped("é" * MAX_BODY_BYTES)  # 2 bytes each: twice the cap
    assert cut and len(text.encode()) <= MAX_BODY_BYTES and text == "é" * (MAX_BODY_BYTES // 2)
    assert capped(b"small") == ("small", False)


async def test_keyset_pages_over_equal_times(db: Database, ring: KeyRing) -> None:
    """Events at the same instant still page exactly: ties go by request id, then event id."""
    events = [
        UsageEventV1(
            occurred_at=T0,
            request_id=f"same-{i % 3}",
            org_id="org-p",
            key_id="k",
            endpoint="chat",
            model="m",
            status=200,
            latency_ms=1.0,
            event_id=uuid.UUID(int=i + 1),
        )
        for i in range(7)
    ]
    await UsageStore(db).ingest(events)
    service = RequestLogService(db, ring, Clock(T0 + timedelta(minutes=1)))
    filters = service.filters("org-p", None, None)
    seen: list[str] = []
    cursor = None
    while True:
        page = await service.page(filters, cursor, 3)
        seen += [f"{r.request_id}" for r in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)
    with pytest.raises(InvalidRequest):
        await service.page(filters, "bm90LWpzb24", 3)


async def test_a_kek_rotation_rewraps_every_body(db: Database, ring: KeyRing) -> None:
    old = RequestLogService(db, ring, Clock(T0))
    for i in range(5):
        await old.store(_body("org-r", f"r{i}"))
    new_kek = Kek.from_text(Kek.generate_text())
    rotating = RequestLogService(db, KeyRing(new_kek, [ring.primary]), Clock(T0))
    assert await rotating.rotate_kek(batch=2) == 5
    assert await rotating.rotate_kek() == 0
    async with db.session() as session:
        rows = (await session.execute(sa.text("SELECT * FROM request_bodies"))).mappings().all()
    assert {r["kek_id"] for r in rows} == {new_kek.id}
    only_new = KeyRing(new_kek)  # the old KEK is gone: every body still opens
    assert all(opened(only_new, dict(r))["completion"] == "the answer" for r in rows)
