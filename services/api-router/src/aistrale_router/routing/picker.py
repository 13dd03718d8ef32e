"""The order in which a request tries deployments: the model's own, then its fallbacks.

Within a model: "power of two choices" over weighted random picks. Of two different
deployments drawn by `weight`, the one with less load per unit of weight goes first (the
first drawn on a tie), then the same again among the rest; with two deployments that is
always the less loaded one. Load is `DeploymentStates.load`: this router's in-flight
count, or what a vLLM deployment reported if that is higher (routing/load.py). Saturated
deployments (KV cache full, queue too long) come after all the others. Deployments whose
breaker is open or whose health probe failed are skipped, unless nothing else is left.

This runs on every request: a few small lists, no sorting, one clock read.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from aistrale_router.catalog.schema import Catalog, Deployment, ModelEntry
from aistrale_router.routing import rules
from aistrale_router.routing.residency import eligible
from aistrale_router.routing.state import DeploymentStates


@dataclass(frozen=True, slots=True)
class Target:
    model: ModelEntry
    deployment: Deployment
    fallback_from: str | None  # the asked model's name when this is a fallback


class DeploymentPicker:
    def __init__(self, states: DeploymentStates, rng: random.Random | None = None) -> None:
        self.states = states
        self._rng = rng or random.Random()

    def plan(
        self,
        catalog: Catalog,
        model: ModelEntry,
        endpoint: str,
        regions: Collection[str] | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> list[Target]:
        """Empty only when data residency (`regions`) or the pool rules (the key's `tags`)
        leave no deployment at all."""
        targets = [Target(model, d, None) for d in self._order(_eligible(model, regions, tags))]
        for name in model.fallbacks:
            fallback = catalog.get(name)
            if fallback is not None and endpoint in fallback.endpoints:
                order = self._order(_eligible(fallback, regions, tags))
                targets.extend(Target(fallback, d, model.name) for d in order)
        usable = [t for t in targets if self._usable(t.deployment)]
        return usable or targets[:1]

    def _usable(self, deployment: Deployment) -> bool:
        state = self.states.get(deployment.id)
        return state.healthy is not False and self.states.available(deployment.id)

    def _order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        pool = [d for d in deployments if d.weight > 0] or list(deployments)
        if len(pool) == 1:
            return pool
        now = self.states.now()
        ranks = [self.states.load(d.id, now) for d in pool]
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


def _eligible(
    model: ModelEntry, regions: Collection[str] | None, tags: frozenset[str]
) -> Sequence[Deployment]:
    """Both pre-filters: the model's pool rules for the key, then the org's regions."""
    return eligible(rules.eligible(model, tags), regions)


def _tier(
    pool: list[Deployment], ranks: list[tuple[bool, int]], *, saturated: bool
) -> tuple[list[Deployment], list[int]]:
    """The deployments that are (or are not) saturated, and their loads."""
    chosen = [i for i, (full, _) in enumerate(ranks) if full is saturated]
    return [pool[i] for i in chosen], [ranks[i][1] for i in chosen]
