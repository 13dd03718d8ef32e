"""Breaker and health gauges per catalog deployment, read from the routing state when
Prometheus scrapes: nothing on the hot path.

- `aistrale_api_router_deployment_healthy{model,deployment,provider}`: 1 when the deployment
  is routable: its last health probe (if it is probed) did not fail and its breaker is not
  open; 0 otherwise. Hosted providers, unprobed by default, get it from the breaker's
  passive statistics alone.
- `aistrale_api_router_breaker_state{model,deployment,provider,state}`: 1 for the breaker's
  current state (closed, open, half_open), 0 for the others.
- `aistrale_api_router_deployment_inflight{model,deployment,provider}`: this replica's
  requests in flight to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aistrale_router.catalog.schema import Catalog
from aistrale_router.routing.state import DeploymentStates

BREAKER_STATES = ("closed", "open", "half_open")
LABELS = ["model", "deployment", "provider"]


class _Ref(Protocol):
    def deployments(self) -> tuple[Catalog, DeploymentStates] | None: ...


class DeploymentCollector(Collector):
    def __init__(self, prefix: str, gateway: _Ref) -> None:
        self._prefix = prefix
        self._gateway = gateway

    def label_names(self) -> dict[str, tuple[str, ...]]:
        """Each family's label names, for the metric-name checks (tests/deploy)."""
        breaker = f"{self._prefix}_breaker_state"
        return {
            f.name: (*LABELS, "state") if f.name == breaker else tuple(LABELS)
            for f in self._families()
        }

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())  # names only: the registry checks for clashes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        healthy, breaker, inflight = families
        running = self._gateway.deployments()
        if running is not None:
            catalog, states = running
            for model in catalog.models:
                for deployment in model.deployments:
                    labels = [model.name, deployment.id, deployment.provider]
                    state = states.get(deployment.id)
                    healthy.add_metric(labels, 1.0 if states.ready(deployment.id) else 0.0)
                    now = states.breaker(deployment.id)
                    for name in BREAKER_STATES:
                        breaker.add_metric([*labels, name], 1.0 if name == now else 0.0)
                    inflight.add_metric(labels, float(state.inflight))
        return iter(families)

    def _families(self) -> list[GaugeMetricFamily]:
        p = self._prefix
        return [
            GaugeMetricFamily(
                f"{p}_deployment_healthy",
                "1 when the deployment is routable (probe not failed, breaker not open)",
                labels=LABELS,
            ),
            GaugeMetricFamily(
                f"{p}_breaker_state",
                "1 for the deployment's circuit breaker state (closed, open, half_open)",
                labels=[*LABELS, "state"],
            ),
            GaugeMetricFamily(
                f"{p}_deployment_inflight",
                "This replica's requests in flight to the deployment",
                labels=LABELS,
            ),
        ]
