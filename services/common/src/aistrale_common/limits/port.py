"""What a limiter store promises, whichever adapter backs it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class WindowDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after_s: float


class LimiterStore(Protocol):
    async def consume(self, key: str, amount: int, limit: int, window_s: int) -> WindowDecision:
        """Add `amount` to the key's current window unless that would pass `limit`.

        A refused call adds nothing. Windows are aligned to the epoch (UTC).
        """
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def window_of(now: float, window_s: int) -> tuple[int, float]:
    """The window's index and the seconds until it ends."""
    index = math.floor(now / window_s)
    return index, (index + 1) * window_s - now


def system_clock() -> float:
    return time.time()
