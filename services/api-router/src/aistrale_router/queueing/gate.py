"""The queue: one per router process, bounded, first come first served.

A deployment's `max_concurrency` (models.yaml) caps this replica's requests in flight to it.
A request whose every deployment is at its cap, or whose key is at its RPM, waits up to the
model's (or the router's) `queue_wait_s` for room, in a queue of at most `queue_max_depth`
requests; past either it gets the 429 it would have had without the queue. A waiter is an
awaited future: a client that leaves cancels it and it is out of the queue at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aistrale_common.errors import RateLimited
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.routing.picker import Target
from aistrale_router.routing.state import DeploymentStates

T = TypeVar("T")
FULL_RETRY_AFTER_S = 1  # what a 429 for a full deployment or queue tells the client


class QueueMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.depth = metrics.gauge("queue_depth", "Requests waiting in this router's queue")
        self.wait = metrics.histogram(
            "queue_wait_seconds",
            "Time requests waited in the queue, by why they waited and how it ended",
            ("reason", "outcome"),
        )


class QueueGate:
    def __init__(
        self, states: DeploymentStates, max_depth: int, metrics: QueueMetrics | None = None
    ) -> None:
        self._states = states
        self._max_depth = max_depth
        self._metrics = metrics
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._depth = 0  # waiting for a deployment or for the RPM window
        states.on_release(self._released)

    def has_room(self, target: Target) -> bool:
        cap = target.deployment.max_concurrency
        return cap is None or self._states.get(target.deployment.id).inflight < cap

    async def room(self, targets: list[Target], wait_s: float) -> list[Target]:
        """The targets with room (in their order), at once or after waiting for one; raises
        the 429 when none frees up in time, the queue is full, or waiting is off."""
        free = [t for t in targets if self.has_room(t)]
        if free or not targets:
            return free or targets
        deadline = time.monotonic() + wait_s
        started = time.monotonic()
        self._enter(wait_s, "concurrency")
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._observe(started, "concurrency", "timeout")
                    raise _full("The model's deployments are all busy; try again shortly.")
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                try:
                    async with asyncio.timeout(left):
                        await waiter
                except TimeoutError:
                    continue  # deadline check above raises
                finally:
                    self._drop(waiter)
                free = [t for t in targets if self.has_room(t)]
                if free:  # checked with no await before the attempt starts: the cap holds
                    self._observe(started, "concurrency", "admitted")
                    return free
        finally:
            self._leave()

    async def retry_rate_limited(self, admit: Callable[[], Awaitable[T]], wait_s: float) -> T:
        """`admit()`, and while it is refused for RPM/TPM (not budget) and its Retry-After
        is within what is left of `wait_s`, waits that long and asks again."""
        try:
            return await admit()
        except RateLimited as first:
            if wait_s <= 0:
                raise
            return await self._wait_for_window(admit, wait_s, first)

    async def _wait_for_window(
        self, admit: Callable[[], Awaitable[T]], wait_s: float, first: RateLimited
    ) -> T:
        deadline = time.monotonic() + wait_s
        started = time.monotonic()
        self._enter(wait_s, "rate_limit", first)
        try:
            last = first
            while True:
                delay = _retry_after(last)
                if delay is None or time.monotonic() + delay > deadline:
                    self._observe(started, "rate_limit", "timeout")
                    raise last
                await asyncio.sleep(delay)
                try:
                    admitted = await admit()
                except RateLimited as again:
                    last = again
                    continue
                self._observe(started, "rate_limit", "admitted")
                return admitted
        finally:
            self._leave()

    def _enter(self, wait_s: float, reason: str, refused: RateLimited | None = None) -> None:
        if wait_s <= 0:
            raise refused or _full("The model's deployments are all busy; try again shortly.")
        if self._depth >= self._max_depth:
            if self._metrics is not None:
                self._metrics.wait.labels(reason, "queue_full").observe(0)
            raise _full("The router's queue is full; try again shortly.", code="queue_full")
        self._depth += 1
        if self._metrics is not None:
            self._metrics.depth.set(self._depth)

    def _leave(self) -> None:
        self._depth -= 1
        if self._metrics is not None:
            self._metrics.depth.set(self._depth)

    def _observe(self, started: float, reason: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.wait.labels(reason, outcome).observe(time.monotonic() - started)

    def _released(self, _deployment_id: str) -> None:
        """A slot freed up: every waiter looks, oldest first (they resume in the order they
        are woken); the first whose deployment has room takes it, the others queue again
        in the same order."""
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _drop(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.cancel()
        with contextlib.suppress(ValueError):  # already taken off by a wake-up
            self._waiters.remove(waiter)


def _full(message: str, code: str = "rate_limit_exceeded") -> RateLimited:
    return RateLimited(message, code=code, headers={"Retry-After": str(FULL_RETRY_AFTER_S)})


def _retry_after(refused: RateLimited) -> float | None:
    value = refused.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
