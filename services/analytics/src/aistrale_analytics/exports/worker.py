"""Runs pending export jobs in the background, one at a time per process.

Jobs live in the database, so any replica may run one, and a job accepted just before a
restart still runs. The API wakes the local worker; others find jobs by polling.
"""

from __future__ import annotations

import asyncio
import contextlib

from aistrale_analytics.exports.repository import ExportRepository
from aistrale_analytics.exports.service import ExportService
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task

log = get_logger(__name__)


class ExportWorker:
    def __init__(
        self, repository: ExportRepository, service: ExportService, poll_s: float = 5.0
    ) -> None:
        self._repository = repository
        self._service = service
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def _loop(self) -> None:
        while True:
            try:
                await self._run_pending()
            except Exception:  # the database may be away: try again at the next tick
                log.exception("usage_export_worker_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()

    async def _run_pending(self) -> None:
        while (job := await self._repository.claim_next()) is not None:
            await self._service.run(job)
