"""The Responses store's life in the app: opened over the router's database, purged of
responses past their retention every `responses_purge_interval_s`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aistrale_common.db import Database
from aistrale_common.logging import get_logger
from aistrale_router.protocols.responses.protocol import ResponsesProtocol
from aistrale_router.protocols.responses.store import ResponseStore
from aistrale_router.settings import Settings

log = get_logger(__name__)


@contextlib.asynccontextmanager
async def open_responses(
    protocol: ResponsesProtocol, db: Database, settings: Settings
) -> AsyncIterator[ResponseStore]:
    store = ResponseStore(db, settings.responses_retention_s)
    protocol.store = store
    purger = asyncio.create_task(_purge_every(store, settings.responses_purge_interval_s))
    try:
        yield store
    finally:
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purger
        protocol.store = None


async def _purge_every(store: ResponseStore, interval_s: float) -> None:
    while True:
        try:
            purged = await store.purge()
            if purged:
                log.info("stored_responses_purged", responses=purged)
        except Exception:  # the database away: the next round tries again
            log.warning("stored_responses_purge_failed", exc_info=True)
        await asyncio.sleep(interval_s)
