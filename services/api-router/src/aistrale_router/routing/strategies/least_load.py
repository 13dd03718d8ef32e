"""`least_load`: the deployment with the shortest queue first, by the deployment's own word.

A vLLM deployment's fresh report (routing/load.py) ranks it by its waiting requests, then
its KV cache usage, then its running requests plus what this router sent since the report;
a deployment that does not report ranks by this router's in-flight count, as if nothing
waited and its cache were empty. Saturated deployments come last. Ties keep the weighted
order.
"""

from __future__ import annotations

from aistrale_router.catalog.schema import Deployment, ModelEntry
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.routing.strategies.weighted import Weighted

Rank = tuple[bool, int, float, int]


class LeastLoad:
    name = "least_load"

    def __init__(self, states: DeploymentStates, weighted: Weighted) -> None:
        self._states = states
        self._weighted = weighted

    def order(self, pool: list[Deployment], model: ModelEntry) -> list[Deployment]:
        ordered = self._weighted.order(pool, model)
        if len(ordered) > 1:
            now = self._states.now()
            ordered.sort(key=lambda d: self._rank(d.id, now))
        return ordered

    def _rank(self, deployment_id: str, now: float) -> Rank:
        states = self._states
        saturated, load = states.load(deployment_id, now)
        report = states.fresh_report(deployment_id, now)
        if report is None:
            return saturated, 0, 0.0, load
        return saturated, report.waiting, report.kv_usage or 0.0, load
