"""A separate connection pool for the router's key lookup.

The lookup is one read, so it runs in autocommit (no BEGIN/ROLLBACK round trips) and
without the pool's pre-ping (another round trip): on Postgres that halves its server time.
A connection that died anyway (a database restart) is retried once on a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from aistrale_common.db import Database, is_sqlite

T = TypeVar("T")


def open_lookup_engine(db: Database, pool_size: int = 5) -> AsyncEngine:
    if is_sqlite(db.url):
        return db.engine  # one file, one writer: the shared engine already has no pre-ping
    return create_async_engine(
        db.url,
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )


async def close_lookup_engine(engine: AsyncEngine, db: Database) -> None:
    if engine is not db.engine:
        await engine.dispose()


async def read(
    engine: AsyncEngine, query: Callable[[AsyncConnection], Coroutine[Any, Any, T]]
) -> T:
    for attempt in (1, 2):
        try:
            async with engine.connect() as conn:
                return await query(conn)
        except sa.exc.DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")
