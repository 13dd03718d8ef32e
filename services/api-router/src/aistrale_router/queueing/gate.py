"""The queue: one per router process, bounded, by priority then first come first served.

A deployment's `max_concurrency` (models.yaml) caps this replica's requests in flight to it.
A request whose every deployment is at its cap, or whose key is at its RPM, waits up to its
key's (or org's, model's, router's) `queue_wait_s` for room (queueing/policy.py), in a queue
of at most `queue_max_depth` requests; past either it gets the 429 it would have had without
the queue. Freed room goes to the waiter with the highest `queue_priority` (0-9), the oldest
among equals. A waiter is an awaited future: a client that leaves cancels it and it is out
of the queue at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
            ("reason", "outcome", "priority"),  # priority: 0-9, so at most 60 series
        )


@dataclass(order=True)
class _Waiter:
    """Ordered as served: higher priority first, then by arrival (kept across wake-ups)."""

    rank: int  # -priority
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class QueueGate:
    def __init__(
        self, states: DeploymentStates, max_depth: int, metrics: QueueMetrics | None = None
    ) -> None:
        self._states = states
        self._max_depth = max_depth
        self._metrics = metrics
        self._waiters: list[_Waiter] = []
        self._arrivals = itertools.count()
        self._depth = 0  # waiting for a deployment or for the RPM window
        states.on_release(self._released)

    def has_room(self, target: Target) -> bool:
        cap = target.deployment.max_concurrency
        return cap is None or self._states.get(target.deployment.id).inflight < cap

    async def room(self, targets: list[Target], wait_s: float, priority: int = 0) -> list[Target]:
        """The targets with room (in their order), at once or after waiting for one; raises
        the 429 when none frees up in time, the queue is full, or waiting is off."""
        free = [t for t in targets if self.has_room(t)]
        if free or not targets:
            return free or targets
        deadline = time.monotonic() + wait_s
        started = time.monotonic()
        self._enter(wait_s, "concurrency", priority)
        seq = next(self._arrivals)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._observe(started, "concurrency", "timeout", priority)
                    raise _full("The model's deployments are all busy; try again shortly.")
                waiter = _Waiter(-priority, seq, asyncio.get_running_loop().create_future())
                self._waiters.append(waiter)
                try:
                    async with asyncio.timeout(left):
                        await waiter.future
                except TimeoutError:
                    continue  # deadline check above raises
                finally:
                    self._drop(waiter)
                free = [t for t in targets if self.has_room(t)]
                if free:  # checked with no await before the attempt starts: the cap holds
                    self._observe(started, "concurrency", "admitted", priority)
                    return free
        finally:
            self._leave()

    async def retry_rate_limited(
        self, admit: Callable[[], Awaitable[T]], wait_s: float, priority: int = 0
    ) -> T:
        """`admit()`, and while it is refused for RPM/TPM (not budget) and its Retry-After
        is within what is left of `wait_s`, waits that long and asks again. Each key waits
        for its own window, so priority only labels the metrics here."""
        try:
            return await admit()
        except RateLimited as first:
            if wait_s <= 0:
                raise
            return await self._wait_for_window(admit, wait_s, first, priority)

    async def _wait_for_window(
        self, admit: Callable[[], Awaitable[T]], wait_s: float, first: RateLimited, priority: int
    ) -> T:
        deadline = time.monotonic() + wait_s
        started = time.monotonic()
        self._enter(wait_s, "rate_limit", priority, refused=first)
        try:
            last = first
            while True:
                delay = _retry_after(last)
                if delay is None or time.monotonic() + delay > deadline:
                    self._observe(started, "rate_limit", "timeout", priority)
                    raise last
                await asyncio.sleep(delay)
                try:
                    admitted = await admit()
                except RateLimited as again:
                    last = again
                    continue
                self._observe(started, "rate_limit", "admitted", priority)
                return admitted
        finally:
            self._leave()

    def _enter(
        self, wait_s: float, reason: str, priority: int = 0, refused: RateLimited | None = None
    ) -> None:
        if wait_s <= 0:
            raise refused or _full("The model's deployments are all busy; try again shortly.")
        if self._depth >= self._max_depth:
            if self._metrics is not None:
                self._metrics.wait.labels(reason, "queue_full", str(priority)).observe(0)
            raise _full("The router's queue is full; try again shortly.", code="queue_full")
        self._depth += 1
        if self._metrics is not None:
            self._metrics.depth.set(self._depth)

    def _leave(self) -> None:
        self._depth -= 1
        if self._metrics is not None:
            self._metrics.depth.set(self._depth)

    def _observe(self, started: float, reason: str, outcome: str, priority: int = 0) -> None:
        if self._metrics is not None:
            waited = time.monotonic() - started
            self._metrics.wait.labels(reason, outcome, str(priority)).observe(waited)

    def _released(self, _deployment_id: str) -> None:
        """A slot freed up: every waiter looks, highest priority then oldest first (tasks
        resume in the order their futures complete); the first whose deployment has room
        takes it, the others queue again keeping their rank and arrival."""
        waiters, self._waiters = sorted(self._waiters), []
        for waiter in waiters:
            if not waiter.future.done():
                waiter.future.set_result(None)

    def _drop(self, waiter: _Waiter) -> None:
        if not waiter.future.done():
            waiter.future.cancel()
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
