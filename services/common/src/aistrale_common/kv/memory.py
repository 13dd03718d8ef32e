"""The in-process adapter: one dict with expiry times, for `make run` and tests."""

from __future__ import annotations

from collections.abc import Sequence

from aistrale_common.clock import Clock, system_clock

SWEEP_EVERY = 1024  # writes between sweeps of expired entries (bounds the memory)


class MemoryKV:
    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}
        self._writes = 0

    def _live(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._data[key]
            return None
        return entry[0]

    def _put(self, key: str, value: str, ttl_s: float) -> None:
        self._data[key] = (value, self._clock() + ttl_s)
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            now = self._clock()
            for stale in [k for k, (_, exp) in self._data.items() if exp <= now]:
                del self._data[stale]

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [self._live(key) for key in keys]

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        self._put(key, value, ttl_s)

    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl_s)
        return True

    async def incr(self, key: str, window_s: float) -> tuple[int, float]:
        current = self._live(key)
        if current is None:
            self._put(key, "1", window_s)
            return 1, window_s
        count = int(current) + 1
        expires = self._data[key][1]
        self._data[key] = (str(count), expires)
        return count, expires - self._clock()

    async def close(self) -> None:
        self._data.clear()
