"""What an expiring key-value store promises, whichever adapter backs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class KeyValue(Protocol):
    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """One round trip; a missing or expired key is None."""
        ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...

    async def add(self, key: str, value: str, ttl_s: float) -> bool:
        """Sets the key only when absent (SET NX); True when this call set it."""
        ...

    async def incr(self, key: str, window_s: float) -> tuple[int, float]:
        """Counts one more in a fixed window that starts at the first count; returns the
        count and the seconds left in the window."""
        ...

    async def close(self) -> None: ...
