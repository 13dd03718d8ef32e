"""percentile_cont in Python, for SQLite (Postgres computes it in SQL with the same rule)."""

from __future__ import annotations

from collections.abc import Sequence

QUANTILES = (0.5, 0.95, 0.99)


def percentile_cont(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks, as Postgres' percentile_cont."""
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def quantiles(values: Sequence[float]) -> tuple[float, ...] | None:
    if not values:
        return None
    ordered = sorted(values)
    return tuple(percentile_cont(ordered, q) for q in QUANTILES)
