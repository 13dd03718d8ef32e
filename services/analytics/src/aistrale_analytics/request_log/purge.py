"""Deletes request bodies past their org's retention, every `interval_s` (and once at start).
Each body carries its own expiry (its event's time + the org's retention then), so a purge
is one indexed DELETE, and several replicas running it at once only repeat a no-op. While a
previous KEK is configured, the same tick re-wraps bodies still sealed under it."""

from __future__ import annotations

import asyncio

from aistrale_analytics.request_log.service import RequestLogService
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task

log = get_logger(__name__)


class BodyPurge:
    def __init__(
        self, service: RequestLogService, interval_s: float, *, rotating: bool = False
    ) -> None:
        self._rotating = rotating
        self._service = service
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        purged = await self._service.purge()
        if purged:
            log.info("request_bodies_purged", bodies=purged)
        if self._rotating:
            rotated = await self._service.rotate_kek()
            if rotated:
                log.info("request_bodies_rewrapped", bodies=rotated)
        return purged

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the database away: the next tick tries again
                log.exception("request_body_purge_failed")
            await asyncio.sleep(self._interval_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="request-body-purge")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task, 1.0)
