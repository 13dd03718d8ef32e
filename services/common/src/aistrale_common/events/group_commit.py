"""Group commit: many concurrent message handlers, one database transaction per batch.

The bus calls a consumer's handler once per message, concurrently up to the prefetch. Each
call parks its item here and waits; one writer task hands everything pending to `commit`
(at most `max_batch` items at a time) and only then lets the handlers return, so every ack
follows the commit. Under load batches fill up on their own while the previous one
commits, up to the prefetch. At low load a batch would be one item per transaction, which
costs a database far more than the item: with `linger_s`, a batch that is not full waits
that long for company first (a usage event may reach analytics 50 ms later; nobody waits
on it but its own unacked message).
A batch that fails is retried item by item, so one bad item cannot take good ones with it
to the dead-letter queue: each handler gets its own item's outcome. A batch that fails
because the database is away (aistrale_common.db.errors) is neither: it is tried again,
whole, with a growing pause, and its handlers wait meanwhile (their messages stay unacked),
so an outage sends nothing to the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import Histogram

from aistrale_common.db.errors import unavailable
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics

log = get_logger(__name__)
T = TypeVar("T")
Commit = Callable[[Sequence[T]], Awaitable[None]]

BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # pauses while the database is away


@dataclass(frozen=True, slots=True)
class BatchMetrics:
    """Observed for each batch committed whole (not for the item-by-item retries)."""

    size: Histogram
    seconds: Histogram

    @classmethod
    def create(cls, metrics: ServiceMetrics, prefix: str, what: str) -> BatchMetrics:
        """`<prefix>_batch_events` and `<prefix>_batch_commit_seconds`."""
        return cls(
            size=metrics.histogram(
                f"{prefix}_batch_events", f"{what} per committed batch", buckets=BATCH_BUCKETS
            ),
            seconds=metrics.histogram(
                f"{prefix}_batch_commit_seconds", f"Time to commit one batch of {what}"
            ),
        )


class GroupCommit(Generic[T]):
    def __init__(
        self,
        commit: Commit[T],
        max_batch: int,
        metrics: BatchMetrics,
        *,
        name: str,
        transient: Callable[[BaseException], bool] = unavailable,
        linger_s: float = 0.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._commit_items = commit
        self._max_batch = max_batch
        self._metrics = metrics
        self._name = name
        self._transient = transient
        self._linger_s = linger_s
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Returns once a transaction holding `item` committed; raises what its own
        commit raised (after the batch failed and the item was tried alone)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name=f"{self._name}-writer")
        await done

    async def _drain(self) -> None:
        # Let deliveries already read from the socket join the batch, and with a linger the
        # ones about to arrive.
        await asyncio.sleep(self._linger_s if len(self._pending) < self._max_batch else 0)
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                await self._commit(batch)
            except BaseException:  # the writer cancelled: no handler may wait forever
                for _, done in batch:
                    done.cancel()
                raise

    async def _commit(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        started = time.perf_counter()
        try:
            await self._commit_while_away([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:  # alone already: its handler gets the error
                _resolve(batch[0][1], exc)
                return
            # No traceback here: each item that fails alone is logged with its own.
            log.warning(
                "group_commit_batch_failed",
                writer=self._name,
                items=len(batch),
                error=_first_line(exc),
            )
            await self._commit_one_by_one(batch)
            return
        self._metrics.seconds.observe(time.perf_counter() - started)
        self._metrics.size.observe(len(batch))
        for _, done in batch:
            _resolve(done, None)

    async def _commit_while_away(self, items: list[T]) -> None:
        """Commits, waiting out a database outage; raises any other error."""
        tries = 0
        while True:
            try:
                await self._commit_items(items)
            except Exception as exc:
                if not self._transient(exc):
                    raise
                if not tries:
                    log.warning(
                        "group_commit_database_away", writer=self._name, error=_first_line(exc)
                    )
                await asyncio.sleep(RETRY_S[min(tries, len(RETRY_S) - 1)])
                tries += 1
                continue
            if tries:
                log.info("group_commit_database_back", writer=self._name, tries=tries + 1)
            return

    async def _commit_one_by_one(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        for item, done in batch:
            try:
                await self._commit_items([item])
            except Exception as exc:  # handed to that message's handler: nack, retry, DLQ
                _resolve(done, exc)
                continue
            _resolve(done, None)


def _first_line(exc: Exception) -> str:
    # A database error's text goes on with the statement and every row's parameters.
    text = str(exc).split("\n", 1)[0]
    return f"{type(exc).__name__}: {text[:300]}"


def _resolve(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its handler was cancelled (consumer stopping): nothing to tell
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
