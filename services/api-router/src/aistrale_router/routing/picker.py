"""The order in which a request tries deployments: the model's own, then its fallbacks.

`plan` narrows the model's deployments to the eligible ones (those in the org's `regions`,
routing/residency.py; those a caller's `eligible` filter keeps, such as routing rules;
then weight > 0), orders them by the
model's `routing.strategy` (routing/strategies/), or, when the model asks for affinity
(routing/affinity/), by the hash ring: the key's own deployment, or the next one whose
breaker is closed and whose load is within the bound, first.
Deployments whose breaker is open or whose health probe failed are dropped, unless nothing
else is left. Fallback models follow, ordered by their own strategy, without affinity.

This runs on every request: `weighted` without affinity is a few small lists, no sorting,
one clock read, no await.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from aistrale_router.catalog.schema import Catalog, Deployment, ModelEntry
from aistrale_router.routing import decisions as why
from aistrale_router.routing import rules
from aistrale_router.routing.affinity.ring import RingCache
from aistrale_router.routing.latency import LatencyStats
from aistrale_router.routing.residency import eligible as in_regions
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.routing.strategies import Strategy
from aistrale_router.routing.strategies.cost import Cost
from aistrale_router.routing.strategies.latency import Latency
from aistrale_router.routing.strategies.least_load import LeastLoad
from aistrale_router.routing.strategies.weighted import Weighted

Eligible = Callable[[Deployment], bool]
Decisions = Callable[[str, str, str, str], None]  # model, strategy, deployment, reason


@dataclass(frozen=True, slots=True)
class Target:
    model: ModelEntry
    deployment: Deployment
    fallback_from: str | None  # the asked model's name when this is a fallback


class DeploymentPicker:
    def __init__(
        self,
        states: DeploymentStates,
        rng: random.Random | None = None,
        *,
        latency: LatencyStats | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        self.states = states
        self.latency = latency or LatencyStats()
        self._decisions = decisions
        rng = rng or random.Random()
        weighted = Weighted(states, rng)
        self._strategies: dict[str, Strategy] = {
            "weighted": weighted,
            "least_load": LeastLoad(states, weighted),
            "latency": Latency(states, self.latency, weighted, rng),
            "cost": Cost(states, weighted),
        }
        self._rings = RingCache()

    def plan(
        self,
        catalog: Catalog,
        model: ModelEntry,
        endpoint: str,
        regions: Collection[str] | None = None,
        *,
        affinity: int | None = None,
        eligible: Eligible | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> list[Target]:
        """`regions`: data residency (routing/residency.py); `affinity`: the request's
        affinity key (routing/affinity/material.py), None for none; `eligible`: a further
        pre-filter of each model's deployments; `tags`: the key's, for each model's pool
        rules (routing/rules.py). Empty only when the filters leave no deployment at all."""
        pool = in_regions(rules.eligible(model, tags), regions)
        order, reason = self._order(model, pool, eligible, affinity)
        targets = [Target(model, d, None) for d in order]
        for name in model.fallbacks:
            fallback = catalog.get(name)
            if fallback is not None and endpoint in fallback.endpoints:
                pool = in_regions(rules.eligible(fallback, tags), regions)
                more, _ = self._order(fallback, pool, eligible, None)
                targets.extend(Target(fallback, d, model.name) for d in more)
        usable = [t for t in targets if self._usable(t.deployment)]
        if self._decisions is not None:
            self._decide(model, targets, usable, reason)
        return usable or targets[:1]

    def _decide(
        self, model: ModelEntry, targets: list[Target], usable: list[Target], reason: str
    ) -> None:
        assert self._decisions is not None
        first = usable[0] if usable else targets[0] if targets else None
        if first is None:
            return
        if not usable:
            reason = why.LAST_RESORT
        elif first.fallback_from is not None:
            reason = why.FALLBACK
        self._decisions(model.name, model.routing.strategy, first.deployment.id, reason)

    def _usable(self, deployment: Deployment) -> bool:
        state = self.states.get(deployment.id)
        return state.healthy is not False and self.states.available(deployment.id)

    def _order(
        self,
        model: ModelEntry,
        deployments: Sequence[Deployment],
        eligible: Eligible | None,
        affinity: int | None,
    ) -> tuple[list[Deployment], str]:
        if eligible is not None:
            deployments = [d for d in deployments if eligible(d)]
        pool = [d for d in deployments if d.weight > 0] or list(deployments)
        if affinity is not None and len(pool) > 1:
            return self._affine(model, pool, affinity)
        return self._strategies[model.routing.strategy].order(pool, model), why.STRATEGY

    def _affine(
        self, model: ModelEntry, pool: list[Deployment], key: int
    ) -> tuple[list[Deployment], str]:
        """The key's deployment on the ring, or the first one after it that is usable and
        within its load bound; the others follow in ring order (where the key spills, the
        same in every router). The strategy orders the pool only when all are full."""
        ring = self._rings.get(tuple(d.id for d in pool))
        now = self.states.now()
        ranks = [self.states.load(d.id, now) for d in pool]
        picked = ring.pick(
            key,
            [load for _, load in ranks],
            [d.weight or 1 for d in pool],
            model.routing.load_factor,
            lambda i: not ranks[i][0] and self._usable(pool[i]),
        )
        if picked is None:
            strategy = self._strategies[model.routing.strategy]
            return strategy.order(pool, model), why.AFFINITY_FULL
        _, steps = picked
        walk = ring.walk(key)
        order = [pool[i] for i in walk[steps:]] + [pool[i] for i in walk[:steps]]
        return order, why.AFFINITY_SPILL if steps else why.AFFINITY
