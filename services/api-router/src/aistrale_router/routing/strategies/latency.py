"""`latency`: the deployment expected to answer soonest first.

Expected time = TTFT average + time-per-output-token average x REFERENCE_TOKENS (routing/
latency.py), times (1 + load): a fast deployment with a queue is not fast for the next
request. A deployment never measured ranks first, so it gets measured. EXPLORE of the
decisions take the weighted order instead, so a deployment that was slow once is measured
again and can win back its traffic.
"""

from __future__ import annotations

import random

from aistrale_router.catalog.schema import Deployment, ModelEntry
from aistrale_router.routing.latency import LatencyStats
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.routing.strategies.weighted import Weighted

REFERENCE_TOKENS = 256
EXPLORE = 0.05


class Latency:
    name = "latency"

    def __init__(
        self,
        states: DeploymentStates,
        stats: LatencyStats,
        weighted: Weighted,
        rng: random.Random,
    ) -> None:
        self._states = states
        self._stats = stats
        self._weighted = weighted
        self._rng = rng

    def order(self, pool: list[Deployment], model: ModelEntry) -> list[Deployment]:
        ordered = self._weighted.order(pool, model)
        if len(ordered) > 1 and self._rng.random() >= EXPLORE:
            now = self._states.now()
            ordered.sort(key=lambda d: self._rank(d.id, now))
        return ordered

    def _rank(self, deployment_id: str, now: float) -> tuple[bool, float]:
        saturated, load = self._states.load(deployment_id, now)
        expected = self._stats.expected_s(deployment_id, REFERENCE_TOKENS)
        return saturated, 0.0 if expected is None else expected * (1 + load)
