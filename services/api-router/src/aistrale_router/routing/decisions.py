"""`aistrale_api_router_routing_decisions_total{model,strategy,deployment,reason}`: the
deployment each request's plan put first, and why. Labels are catalog names only.

Reasons: `strategy` (the strategy's first choice), `affinity` (the key's own deployment on
the ring), `affinity_spill` (its own deployment was unhealthy or over its load bound: the
next one on the ring), `affinity_full` (every deployment over its bound: the strategy
chose), `fallback` (no deployment of the model was usable: a fallback model's),
`last_resort` (nothing usable at all: the first deployment is tried anyway).
"""

from __future__ import annotations

from aistrale_common.metrics import Children, ServiceMetrics

STRATEGY = "strategy"
AFFINITY = "affinity"
AFFINITY_SPILL = "affinity_spill"
AFFINITY_FULL = "affinity_full"
FALLBACK = "fallback"
LAST_RESORT = "last_resort"


class RoutingDecisions:
    __slots__ = ("_children", "counter")

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.counter = metrics.counter(
            "routing_decisions_total",
            "Routing decisions: the deployment a request's plan tries first, and why",
            ("model", "strategy", "deployment", "reason"),
        )
        self._children = Children(self.counter)

    def __call__(self, model: str, strategy: str, deployment: str, reason: str) -> None:
        self._children(model, strategy, deployment, reason).inc()
