"""Settlements Redis has not applied yet, kept in order and replayed when it answers again.

A settlement that Redis could not take (it was away) waits at the front: the replay stops
there and goes on once Redis is back. One that Redis answered with a fault (a bug on that
scope's keys) must not hold up the others behind it: it is set aside and tried again later,
with a growing delay, and is only given up at shutdown, counted as lost.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aistrale_router.admission.faults import RecentFaults
from aistrale_router.admission.port import Admission, Settlement
from aistrale_router.admission.store_errors import StoreFault

MAX_PENDING = 100_000
FAULT_BACKOFF_S = (1.0, 5.0, 30.0, 120.0)

Settle = Callable[[Admission, Settlement], Awaitable[None]]


@dataclass(slots=True)
class Pending:
    admission: Admission
    settlement: Settlement
    faults: int = 0
    retry_at: float = 0.0  # monotonic; 0: at once


class SettlementQueue:
    def __init__(self, faults: RecentFaults) -> None:
        self._waiting: deque[Pending] = deque(maxlen=MAX_PENDING)
        self._faults = faults
        self._next_at = 0.0  # no item is due before this (monotonic)

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, admission: Admission, settlement: Settlement) -> None:
        self._waiting.append(Pending(admission, settlement))
        self._next_at = 0.0

    def set_aside(self, admission: Admission, settlement: Settlement) -> None:
        """A settlement Redis answered with a fault: tried again after a delay."""
        item = Pending(admission, settlement)
        self._delay(item)
        self._waiting.append(item)
        self._next_at = min(self._next_at, item.retry_at) if len(self) > 1 else item.retry_at

    def due(self) -> bool:
        """Cheap: the router asks after every call that reached Redis."""
        return bool(self._waiting) and time.monotonic() >= self._next_at

    async def replay(self, settle: Settle) -> None:
        """Applies what is due, in order; StoreUnavailable stops it (the rest stays)."""
        now = time.monotonic()
        later: list[Pending] = []
        try:
            while self._waiting:
                item = self._waiting[0]
                if item.retry_at > now:
                    later.append(self._waiting.popleft())
                    continue
                try:
                    await settle(item.admission, item.settlement)
                except StoreFault as exc:
                    plan = item.admission.plan
                    self._faults.note("settle_replay", plan.org_id if plan else "", exc)
                    self._delay(item)
                    later.append(self._waiting.popleft())
                    continue
                self._waiting.popleft()
        finally:
            self._waiting.extend(later)
            self._next_at = min((item.retry_at for item in self._waiting), default=0.0)

    def _delay(self, item: Pending) -> None:
        step = FAULT_BACKOFF_S[min(item.faults, len(FAULT_BACKOFF_S) - 1)]
        item.faults += 1
        item.retry_at = time.monotonic() + step
