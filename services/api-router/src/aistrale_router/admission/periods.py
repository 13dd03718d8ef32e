"""Budget periods, rolling over at UTC boundaries: day, month, total."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from aistrale_common.budget_counters import DAY_LABEL, DAY_S, MONTH_LABEL, SPEND_TTL_S, TOTAL_LABEL
from aistrale_router.keys.record import Period

__all__ = ["DAY_S", "SPEND_PERIODS", "period_label", "period_reset_s"]

# Every spend counter a settlement writes, with how long it is kept (0: forever).
SPEND_PERIODS: tuple[tuple[Period, int], ...] = tuple(SPEND_TTL_S.items())


class _Day(NamedTuple):
    day_label: str
    month_label: str
    day_end: float  # epoch seconds
    month_end: float


def period_label(period: Period, now: float) -> str:
    if period == "total":
        return TOTAL_LABEL
    day = _calendar(math.floor(now / DAY_S))
    return day.day_label if period == "day" else day.month_label


def period_reset_s(period: Period, now: float) -> float | None:
    """Seconds until the period rolls over; None for a total budget, which never does."""
    if period == "total":
        return None
    day = _calendar(math.floor(now / DAY_S))
    return (day.day_end if period == "day" else day.month_end) - now


@lru_cache(maxsize=8)
def _calendar(day_index: int) -> _Day:
    # Cached per UTC day: the hot path formats these labels for every request.
    start = datetime.fromtimestamp(day_index * DAY_S, UTC)
    following_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return _Day(
        day_label=start.strftime(DAY_LABEL),
        month_label=start.strftime(MONTH_LABEL),
        day_end=float((day_index + 1) * DAY_S),
        month_end=following_month.timestamp(),
    )
