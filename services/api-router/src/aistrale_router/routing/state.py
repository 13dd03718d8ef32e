"""Per-deployment state the picker reads: in-flight requests, circuit breaker, health.

Breaker: `failures` consecutive failures open it for `open_s`; then one trial request is
let through (half-open) and its outcome closes or re-opens it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(slots=True)
class DeploymentState:
    inflight: int = 0
    failures: int = 0
    open_until: float = 0.0
    trial_running: bool = False
    healthy: bool | None = None  # None: not probed yet


class DeploymentStates:
    def __init__(self, failures: int, open_s: float, clock: Clock = time.monotonic) -> None:
        self._threshold = failures
        self._open_s = open_s
        self._clock = clock
        self._states: dict[str, DeploymentState] = {}

    def get(self, deployment_id: str) -> DeploymentState:
        state = self._states.get(deployment_id)
        if state is None:
            state = self._states[deployment_id] = DeploymentState()
        return state

    def available(self, deployment_id: str) -> bool:
        state = self.get(deployment_id)
        if state.failures < self._threshold:
            return True
        return self._clock() >= state.open_until and not state.trial_running

    def started(self, deployment_id: str) -> None:
        state = self.get(deployment_id)
        state.inflight += 1
        if state.failures >= self._threshold:
            state.trial_running = True

    def finished(self, deployment_id: str, *, ok: bool) -> None:
        state = self.get(deployment_id)
        state.inflight -= 1
        state.trial_running = False
        if ok:
            state.failures = 0
            return
        state.failures += 1
        if state.failures >= self._threshold:
            state.open_until = self._clock() + self._open_s

    def set_health(self, deployment_id: str, healthy: bool) -> None:
        self.get(deployment_id).healthy = healthy
