"""`cost`: the cheapest deployment first, by its own `pricing` or else the model's.

A deployment's price is its input plus output price per million tokens (a blended figure:
the request's own split is not known before the answer). Saturated deployments come last;
a deployment without a price ranks after every priced one. Ties keep the weighted order.
"""

from __future__ import annotations

import math

from aistrale_router.catalog.schema import Deployment, ModelEntry, Pricing
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.routing.strategies.weighted import Weighted


def price(deployment: Deployment, model: ModelEntry) -> float:
    pricing: Pricing | None = deployment.pricing or model.pricing
    if pricing is None:
        return math.inf
    return pricing.input_micro_usd_per_mtok + pricing.output_micro_usd_per_mtok


class Cost:
    name = "cost"

    def __init__(self, states: DeploymentStates, weighted: Weighted) -> None:
        self._states = states
        self._weighted = weighted

    def order(self, pool: list[Deployment], model: ModelEntry) -> list[Deployment]:
        ordered = self._weighted.order(pool, model)
        if len(ordered) > 1:
            now = self._states.now()
            ordered.sort(key=lambda d: (self._states.load(d.id, now)[0], price(d, model)))
        return ordered
