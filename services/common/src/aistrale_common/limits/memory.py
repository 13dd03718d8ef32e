"""In-process limiter store: same semantics as Redis, for one process."""

from __future__ import annotations

import asyncio

from aistrale_common.limits.port import Clock, WindowDecision, system_clock, window_of


class MemoryLimiterStore:
    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()

    async def consume(self, key: str, amount: int, limit: int, window_s: int) -> WindowDecision:
        index, reset = window_of(self._clock(), window_s)
        async with self._lock:
            seen_index, count = self._counts.get(key, (index, 0))
            if seen_index != index:
                count = 0
            if count + amount > limit:
                return WindowDecision(False, limit, max(limit - count, 0), reset)
            self._counts[key] = (index, count + amount)
            return WindowDecision(True, limit, limit - count - amount, reset)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._counts.clear()
