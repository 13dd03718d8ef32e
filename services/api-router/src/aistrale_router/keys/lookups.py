"""Lookups to user-org on behalf of the key cache.

One lookup in flight per key hash, shared by every request that waits for it and by the
background refresh; its answer goes into the cache. Background refreshes never make a
request wait, and after a failure a key is not refreshed again before its backoff has
passed. A failed lookup also marks user-org as failing for a while, so that the resolver
stops making requests wait for answers that are not coming.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Protocol

from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_tasks
from aistrale_router.keys.cache import KeyCache
from aistrale_router.keys.metrics import KeyMetrics
from aistrale_router.keys.record import KeyRecord
from aistrale_router.userorg_api import LookupUnavailable

log = get_logger(__name__)


class KeyLookup(Protocol):
    async def lookup(self, key_hash: str) -> KeyRecord | None: ...


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    retry_s: float = 0.5  # a key whose lookup failed is refreshed again after this, doubling
    retry_max_s: float = 5.0
    failing_s: float = 10.0  # how long after a failed lookup user-org counts as failing


@dataclass(frozen=True, slots=True)
class _Flight:
    task: asyncio.Task[KeyRecord | None]
    version: int  # the cache's version when it started


class KeyLookups:
    def __init__(
        self, cache: KeyCache, lookup: KeyLookup, policy: RefreshPolicy, metrics: KeyMetrics
    ) -> None:
        self._cache = cache
        self._lookup = lookup
        self._policy = policy
        self._metrics = metrics
        self._flights: dict[str, _Flight] = {}
        self._retries: dict[str, tuple[float, int]] = {}  # key hash -> (not before, failures)
        self._failing_until = -math.inf

    def failing(self) -> bool:
        return self._cache.clock() < self._failing_until

    async def ask(self, key_hash: str) -> KeyRecord | None:
        """user-org's answer from a lookup started after the last control event, cached;
        LookupUnavailable when it gives none."""
        flight = self._flights.get(key_hash)
        if flight is not None and flight.version != self._cache.version:
            # Started before a change was announced: its answer may not include it.
            await asyncio.wait({flight.task})
            flight = self._flights.get(key_hash)
        if flight is None:
            flight = self._start(key_hash, background=False)
        return await asyncio.shield(flight.task)

    def refresh(self, key_hash: str) -> bool:
        """Starts a background lookup unless one is in flight or the key's backoff has not
        passed; True when it started."""
        if key_hash in self._flights:
            return False
        retry = self._retries.get(key_hash)
        if retry is not None and self._cache.clock() < retry[0]:
            return False
        self._start(key_hash, background=True)
        return True

    def in_flight(self) -> int:
        return len(self._flights)

    async def close(self) -> None:
        await stop_tasks([flight.task for flight in self._flights.values()])

    def _start(self, key_hash: str, *, background: bool) -> _Flight:
        version = self._cache.version
        task = asyncio.create_task(self._run(key_hash, version, background))
        flight = self._flights[key_hash] = _Flight(task, version)
        task.add_done_callback(lambda _: self._forget(key_hash, flight))
        return flight

    def _forget(self, key_hash: str, flight: _Flight) -> None:
        """Done: drop it if _run could not (cancelled before it ran); log what nobody read."""
        if self._flights.get(key_hash) is flight:
            del self._flights[key_hash]
        _retrieve(flight.task)

    async def _run(self, key_hash: str, version: int, background: bool) -> KeyRecord | None:
        try:
            record = await self._lookup.lookup(key_hash)
        except LookupUnavailable as exc:
            self._failed(key_hash, background, exc)
            raise
        finally:
            # Before the task completes: whoever it wakes sees no lookup in flight.
            self._flights.pop(key_hash, None)
        self._succeeded(key_hash, background, found=record is not None)
        return self._cache.put(key_hash, record, asked_at=version)

    def _failed(self, key_hash: str, background: bool, exc: LookupUnavailable) -> None:
        now = self._cache.clock()
        self._failing_until = now + self._policy.failing_s
        failures = self._retries.pop(key_hash, (0.0, 0))[1] + 1
        delay = min(self._policy.retry_s * 2 ** (failures - 1), self._policy.retry_max_s)
        self._retries[key_hash] = (now + delay, failures)
        if len(self._retries) > self._cache.max_size:
            # Bounded like the cache: the key that failed longest ago is forgotten first.
            del self._retries[next(iter(self._retries))]
        if background:
            self._metrics.refreshed("failed")
            self._log_stale(key_hash, exc, failures, delay)
        else:  # the resolver serves its fallback or answers 503: say why
            log.info("key_lookup_failed", error=str(exc), failures=failures)

    def _log_stale(self, key_hash: str, exc: Exception, failures: int, retry_s: float) -> None:
        """The key goes on being served from its last answer. A warning when that starts,
        then info: a long outage must not write a warning per key every few seconds."""
        record = self._cache.get(key_hash)[1].record
        key_id = None if record is None else record.key_id
        level = log.warning if failures == 1 else log.info
        level("key_served_stale", key_id=key_id, error=str(exc), failures=failures, retry_s=retry_s)

    def _succeeded(self, key_hash: str, background: bool, *, found: bool) -> None:
        self._failing_until = -math.inf
        self._retries.pop(key_hash, None)
        if background:
            self._metrics.refreshed("ok" if found else "unknown")


def _retrieve(task: asyncio.Task[KeyRecord | None]) -> None:
    """A background lookup nobody awaits: its failure is logged, never left unretrieved."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, LookupUnavailable):
        log.error("key_lookup_crashed", error=repr(exc))
