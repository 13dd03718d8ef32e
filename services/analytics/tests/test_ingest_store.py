"""Storage: each event_id counted once; rollups exactly equal the raw events' sums."""

from __future__ import annotations

import sqlalchemy as sa

from aistrale_analytics.ingest.rollup import BUCKETS
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.tables import usage_rollups
from aistrale_common.db import Database
from aistrale_testkit.analytics.factories import random_events, usage_event
from aistrale_testkit.analytics.sums import expected_totals, rollup_totals, stored_ids


async def test_redelivered_events_are_counted_once(db: Database) -> None:
    store = UsageStore(db)
    events = random_events(60, "org-dedupe")
    assert await store.ingest(events[:40]) == 40
    # A redelivery overlapping a replay, plus duplicates inside one batch.
    assert await store.ingest(events[20:] + events[50:]) == 20
    assert await store.ingest(events) == 0
    assert sorted(await stored_ids(db, "org-dedupe")) == sorted(str(e.event_id) for e in events)
    for bucket in BUCKETS:
        assert await rollup_totals(db, "org-dedupe", bucket) == expected_totals(events)


async def test_rollups_split_by_bucket_key_and_model(db: Database) -> None:
    store = UsageStore(db)
    first = usage_event("org-split", key_id="k1", model="m1", cost_micro_usd=7)
    later = first.model_copy(
        update={
            "event_id": usage_event().event_id,
            "occurred_at": first.occurred_at.replace(minute=59, second=59),
        }
    )
    other_key = usage_event("org-split", key_id="k2", model="m1", cost_micro_usd=11, status=502)
    await store.ingest([first, later, other_key])
    query = (
        sa.select(
            usage_rollups.c.bucket,
            usage_rollups.c.key_id,
            usage_rollups.c.requests,
            usage_rollups.c.errors,
            usage_rollups.c.cost_micro_usd,
        )
        .where(usage_rollups.c.org_id == "org-split")
        .order_by(usage_rollups.c.bucket, usage_rollups.c.bucket_start, usage_rollups.c.key_id)
    )
    async with db.session() as session:
        rows = [tuple(r) for r in await session.execute(query)]
    assert rows == [
        ("day", "k1", 2, 0, 14),
        ("day", "k2", 1, 1, 11),
        ("hour", "k1", 2, 0, 14),
        ("hour", "k2", 1, 1, 11),
        ("minute", "k1", 1, 0, 7),
        ("minute", "k2", 1, 1, 11),
        ("minute", "k1", 1, 0, 7),
    ]
