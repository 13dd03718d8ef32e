"""Relays committed control events from the outbox table to the event bus.

Runs as a background task in the lifespan. A write pokes it right after commit; it also
polls, so events written by another replica (or left over while RabbitMQ was down) go out.
Rows are deleted only after the broker confirmed them: at-least-once, and routers dedupe
nothing because invalidating a cache entry twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import Gauge

from aistrale_common.db import Database
from aistrale_common.events import EventBus
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task
from aistrale_userorg.outbox import repository

log = get_logger(__name__)
MAX_BACKOFF_S = 5.0


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        exchange: str,
        *,
        batch: int = 100,
        poll_s: float = 1.0,
        publish_timeout_s: float = 5.0,
        backlog: Gauge | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._exchange = exchange
        self._batch = batch
        self._poll_s = poll_s
        self._timeout_s = publish_timeout_s
        self._backlog = backlog
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def relay_once(self) -> int:
        """Publishes one batch; returns how many events went out."""
        async with self._db.transaction() as session:
            claimed = await repository.claim(session, self._batch)
            if claimed:
                messages = [message for _, message in claimed]
                await asyncio.wait_for(
                    self._bus.publish_batch(self._exchange, messages), self._timeout_s
                )
                await repository.remove(session, [row_id for row_id, _ in claimed])
            if self._backlog is not None:
                self._backlog.set(await repository.pending(session))
        return len(claimed)

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                sent = await self.relay_once()
                backoff = 0.0
            except Exception as exc:  # broker or database away: keep the rows, retry later
                backoff = min(MAX_BACKOFF_S, max(0.25, backoff * 2))
                log.warning("outbox_relay_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(backoff)
                continue
            if sent < self._batch:
                await self._wait()

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._poll_s)
        self._wake.clear()
