"""Postgres's own counters for the bench's databases: transactions committed and rows
written per request show a per-event write pattern at a glance."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import asyncpg

DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
QUERY = """
SELECT datname, xact_commit, tup_inserted + tup_updated + tup_deleted AS written
FROM pg_stat_database WHERE datname = ANY($1::text[])
"""


def database_counters(databases: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Per database: commits and rows written so far (the statistics collector's view,
    updated by each backend at the end of a transaction, at most every second or so)."""

    async def read() -> dict[str, dict[str, int]]:
        conn = await asyncpg.connect(DSN)
        try:
            rows = await conn.fetch(QUERY, list(databases))
        finally:
            await conn.close()
        return {r["datname"]: {"commits": r["xact_commit"], "rows": r["written"]} for r in rows}

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def per_request(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], requests: int
) -> dict[str, dict[str, float]]:
    return {
        db: {
            k: round((v - before.get(db, {}).get(k, 0)) / max(1, requests), 2) for k, v in c.items()
        }
        for db, c in after.items()
    }
