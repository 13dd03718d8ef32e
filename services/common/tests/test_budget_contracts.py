"""The budget contracts every service reads: periods at UTC boundaries, one key layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aistrale_common.budget_counters import floor_key, org_base, scope_key, spend_key, spent_key
from aistrale_common.budget_periods import Period, period_label, period_reset_s, period_start

LATE = datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "start", "label"),
    [
        ("day", datetime(2026, 11, 30, tzinfo=UTC), "d20261130"),
        ("month", datetime(2026, 11, 1, tzinfo=UTC), "m202611"),
        ("total", None, "t"),
    ],
)
def test_a_period_starts_labels_and_resets_at_utc_boundaries(
    period: Period, start: datetime | None, label: str
) -> None:
    assert period_start(period, LATE) == start
    assert period_label(period, LATE.timestamp()) == label
    # 01:59:30 in UTC+2 is the same moment: the period is UTC's, not the caller's zone.
    elsewhere = LATE.astimezone(timezone(timedelta(hours=2)))
    assert period_start(period, elsewhere) == start
    reset = period_reset_s(period, LATE.timestamp())
    assert reset == (None if period == "total" else 30.0)


def test_naive_moments_are_read_as_utc() -> None:
    assert period_start("day", LATE.replace(tzinfo=None)) == datetime(2026, 11, 30, tzinfo=UTC)


def test_the_router_and_analytics_build_the_same_spend_key() -> None:
    # The router builds it in parts (admission/plan.py), analytics in one call.
    parts = spent_key(scope_key(org_base("p:", "o1"), "key", "k1"), "d20261130")
    assert parts == spend_key("p:", "o1", "key", "k1", "d20261130") == "p:{o1}:b:key:k1:s:d20261130"
    assert floor_key(parts) == "p:{o1}:b:key:k1:s:d20261130:floor"
