"""All SQL of reconciliation: what the ledger (the day rollups) says each budget spent."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from aistrale_analytics.ingest.repository import db_time
from aistrale_analytics.tables import usage_rollups
from aistrale_common.budget_counters import Scope
from aistrale_common.db import Database

# (org id, scope, the org's or the key's id)
BudgetId = tuple[str, Scope, str]


async def spend_since(db: Database, since: datetime | None) -> dict[BudgetId, int]:
    """Micro-USD spent per org and per key since `since` (all time when None)."""
    query = sa.select(
        usage_rollups.c.org_id,
        usage_rollups.c.key_id,
        sa.func.sum(usage_rollups.c.cost_micro_usd),
    ).where(usage_rollups.c.bucket == "day")
    if since is not None:
        query = query.where(usage_rollups.c.bucket_start >= db_time(since, db.dialect))
    query = query.group_by(usage_rollups.c.org_id, usage_rollups.c.key_id)
    spent: dict[BudgetId, int] = defaultdict(int)
    async with db.session() as session:
        for org_id, key_id, cost in await session.execute(query):
            spent[(org_id, "key", key_id)] += int(cost)
            spent[(org_id, "org", org_id)] += int(cost)
    return dict(spent)
