"""Read back what ingestion stored, to compare with what was sent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa

from aistrale_analytics.tables import usage_events, usage_rollups
from aistrale_common.db import Database
from aistrale_common.events.schemas import UsageEventV1

SUMMED = ("requests", "prompt_tokens", "completion_tokens", "cost_micro_usd")


async def stored_ids(db: Database, org_id: str) -> list[str]:
    query = sa.select(usage_events.c.event_id).where(usage_events.c.org_id == org_id)
    async with db.session() as session:
        return list((await session.execute(query)).scalars())


async def rollup_totals(db: Database, org_id: str, bucket: str) -> dict[str, int]:
    columns = [sa.func.coalesce(sa.func.sum(usage_rollups.c[c]), 0) for c in SUMMED]
    query = sa.select(*columns).where(
        usage_rollups.c.org_id == org_id, usage_rollups.c.bucket == bucket
    )
    async with db.session() as session:
        row = (await session.execute(query)).one()
    return {name: int(value) for name, value in zip(SUMMED, row, strict=True)}


def expected_totals(events: Iterable[UsageEventV1]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for event in events:
        totals["requests"] += 1
        totals["prompt_tokens"] += event.prompt_tokens
        totals["completion_tokens"] += event.completion_tokens
        totals["cost_micro_usd"] += event.cost_micro_usd
    return {name: totals[name] for name in SUMMED}
