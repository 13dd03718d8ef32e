"""The order in which a request tries deployments: the model's own, then its fallbacks.

Within a model: weighted random choice, load-aware by "two random choices" (of two
weighted picks, the one with fewer requests in flight goes first), skipping deployments
whose breaker is open or whose health probe failed — unless nothing else is left.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from aistrale_router.catalog.schema import Catalog, Deployment, ModelEntry
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

    def plan(self, catalog: Catalog, model: ModelEntry, endpoint: str) -> list[Target]:
        targets = [Target(model, d, None) for d in self._order(model.deployments)]
        for name in model.fallbacks:
            fallback = catalog.get(name)
            if fallback is not None and endpoint in fallback.endpoints:
                order = self._order(fallback.deployments)
                targets.extend(Target(fallback, d, model.name) for d in order)
        usable = [t for t in targets if self._usable(t.deployment)]
        return usable or targets[:1]

    def _usable(self, deployment: Deployment) -> bool:
        state = self.states.get(deployment.id)
        return state.healthy is not False and self.states.available(deployment.id)

    def _order(self, deployments: list[Deployment]) -> list[Deployment]:
        pool = [d for d in deployments if d.weight > 0] or list(deployments)
        if len(pool) == 1:
            return pool
        ordered: list[Deployment] = []
        while pool:
            first = self._weighted(pool)
            second = self._weighted(pool)
            best = min(first, second, key=lambda d: self.states.get(d.id).inflight)
            ordered.append(best)
            pool.remove(best)
        return ordered

    def _weighted(self, pool: list[Deployment]) -> Deployment:
        # An all-zero pool (every deployment drained) still has to answer: equal weights.
        weights = [d.weight or 1 for d in pool]
        return self._rng.choices(pool, weights=weights)[0]
