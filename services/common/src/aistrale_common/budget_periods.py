"""Budget periods, rolling over at UTC boundaries: day, month, total.

A contract between services: user-org stores a budget's period, the router labels its spend
counters by period (budget_counters.py) and tells clients when a budget resets, analytics
sums a period's spend to reconcile and report it. All three read the calendar here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple

Period = Literal["day", "month", "total"]
PERIODS: tuple[Period, ...] = ("day", "month", "total")

DAY_S = 86_400
DAY_LABEL = "d%Y%m%d"
MONTH_LABEL = "m%Y%m"
TOTAL_LABEL = "t"


class _Day(NamedTuple):
    day_label: str
    month_label: str
    day_end: float  # epoch seconds
    month_end: float


def period_label(period: Period, now: float) -> str:
    """`d20261118` (day), `m202611` (month) or `t` (total) for the epoch time `now`."""
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


def period_start(period: Period, now: datetime) -> datetime | None:
    """When the period containing `now` began (UTC; naive `now` is read as UTC); None for
    total, which has no start."""
    if period == "total":
        return None
    utc = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


@lru_cache(maxsize=8)
def _calendar(day_index: int) -> _Day:
    # Cached per UTC day: the router's hot path formats these labels for every request.
    start = datetime.fromtimestamp(day_index * DAY_S, UTC)
    following_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return _Day(
        day_label=start.strftime(DAY_LABEL),
        month_label=start.strftime(MONTH_LABEL),
        day_end=float((day_index + 1) * DAY_S),
        month_end=following_month.timestamp(),
    )
