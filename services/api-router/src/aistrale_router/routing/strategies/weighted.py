"""`weighted`, the default: "power of two choices" over weighted random picks.

Of two different deployments drawn by `weight`, the one with less load per unit of weight
goes first (the first drawn on a tie), then the same again among the rest; with two
deployments that is always the less loaded one. Load is `DeploymentStates.load`: this
router's in-flight count, or what a vLLM deployment reported if that is higher
(routing/load.py). Saturated deployments (KV cache full, queue too long) come after all
the others. A few small lists, no sorting, one clock read.
"""

from __future__ import annotations

import random

from aistrale_router.catalog.schema import Deployment, ModelEntry
from aistrale_router.routing.state import DeploymentStates


class Weighted:
    name = "weighted"

    def __init__(self, states: DeploymentStates, rng: random.Random) -> None:
        self._states = states
        self._rng = rng

    def order(self, pool: list[Deployment], model: ModelEntry | None = None) -> list[Deployment]:
        if len(pool) == 1:
            return pool
        now = self._states.now()
        ranks = [self._states.load(d.id, now) for d in pool]
        if not any(saturated for saturated, _ in ranks):
            return self._two_choices(pool, [load for _, load in ranks])
        calm = self._two_choices(*_tier(pool, ranks, saturated=False))
        return calm + self._two_choices(*_tier(pool, ranks, saturated=True))

    def _two_choices(self, pool: list[Deployment], loads: list[int]) -> list[Deployment]:
        """Orders `pool` (consumed, like `loads`)."""
        # An all-zero pool (every deployment drained) still has to answer: equal weights.
        weights = [d.weight or 1 for d in pool]
        ordered: list[Deployment] = []
        while len(pool) > 1:
            total = sum(weights)
            first = self._weighted(weights, total, skip=-1)
            second = self._weighted(weights, total - weights[first], skip=first)
            # Less load per unit of weight, compared without division; a tie keeps `first`,
            # so without load the weights alone decide.
            if loads[first] * weights[second] <= loads[second] * weights[first]:
                best = first
            else:
                best = second
            ordered.append(pool.pop(best))
            del loads[best], weights[best]
        ordered.extend(pool)
        return ordered

    def _weighted(self, weights: list[int], total: int, *, skip: int) -> int:
        left = self._rng.random() * total
        chosen = -1
        for i, weight in enumerate(weights):
            if i != skip:
                chosen = i
                left -= weight
                if left < 0:
                    break
        return chosen  # past the end only by rounding: the last one


def _tier(
    pool: list[Deployment], ranks: list[tuple[bool, int]], *, saturated: bool
) -> tuple[list[Deployment], list[int]]:
    """The deployments that are (or are not) saturated, and their loads."""
    chosen = [i for i, (full, _) in enumerate(ranks) if full is saturated]
    return [pool[i] for i in chosen], [ranks[i][1] for i in chosen]
