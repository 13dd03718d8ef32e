"""`aistrale_api_router_routing_decisions_total{model,strategy,deployment,reason}`: the
deployment each request's plan put first, and why. Labels are catalog names only.

Counted in a plain dict on the hot path and turned into a counter family when Prometheus
scrapes: a `Counter.inc` takes a lock and costs more than the rest of a `weighted` decision's
bookkeeping (bench/routing.py).

Reasons: `strategy` (the strategy's first choice), `affinity` (the key's own deployment on
the ring), `affinity_spill` (its own deployment was unhealthy or over its load bound: the
next one on the ring), `affinity_full` (every deployment over its bound: the strategy
chose), `fallback` (no deployment of the model was usable: a fallback model's),
`last_resort` (nothing usable at all: the first deployment is tried anyway).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from aistrale_common.metrics import ServiceMetrics

STRATEGY = "strategy"
AFFINITY = "affinity"
AFFINITY_SPILL = "affinity_spill"
AFFINITY_FULL = "affinity_full"
FALLBACK = "fallback"
LAST_RESORT = "last_resort"
LABELS = ("model", "strategy", "deployment", "reason")

Decision = tuple[str, str, str, str]


class RoutingDecisions(Collector):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.name = f"{metrics.prefix}_routing_decisions"
        self.counts: dict[Decision, int] = {}
        metrics.registry.register(self)

    def __call__(self, model: str, strategy: str, deployment: str, reason: str) -> None:
        key = (model, strategy, deployment, reason)
        self.counts[key] = self.counts.get(key, 0) + 1

    def label_names(self) -> dict[str, tuple[str, ...]]:
        """For the metric-name checks (tests/deploy), under each name the registry knows."""
        return {self.name + suffix: LABELS for suffix in ("", "_total", "_created")}

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter([self._family()])

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = self._family()
        for labels, count in list(self.counts.items()):
            family.add_metric(labels, float(count))
        return iter([family])

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            self.name,
            "Routing decisions: the deployment a request's plan tries first, and why",
            labels=LABELS,
        )
