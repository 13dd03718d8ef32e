"""Per-deployment state the picker reads: in-flight requests, circuit breaker, health, and
the load a vLLM deployment last reported (routing/load.py).

Breaker: `failures` consecutive failures open it for `open_s`; then one trial request is
let through (half-open) and its outcome closes or re-opens it.

Load: `load()` is what the picker compares. Without a fresh report it is this router's own
in-flight count. With one it is the larger of that and the reported running + waiting plus
the change in this router's in-flight count since the report: the report counts every router
replica's requests, but not the ones this router sent after it was taken, and still counts
the ones of this router's that have ended since (without subtracting them, a deployment that
just answered looks busy until its next report, and affinity moves off it for nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class LoadReport:
    running: int
    waiting: int
    kv_usage: float | None  # 0..1; None when the server does not report it
    at: float  # the states' clock when it arrived
    expires_at: float  # older reports are ignored
    saturated: bool  # KV cache full or queue too long: tried after the others
    inflight_at: int  # this router's in-flight count when it arrived


@dataclass(slots=True)
class DeploymentState:
    inflight: int = 0
    failures: int = 0
    open_until: float = 0.0
    trial_running: bool = False
    healthy: bool | None = None  # None: not probed yet
    report: LoadReport | None = None


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

    def breaker(self, deployment_id: str) -> str:
        """closed, open (refusing) or half_open (a trial may pass or is running): for the
        metrics; the picker asks `available`."""
        state = self.get(deployment_id)
        if state.failures < self._threshold:
            return "closed"
        return "open" if self._clock() < state.open_until else "half_open"

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

    def abandoned(self, deployment_id: str) -> None:
        """A call nobody waits for any more: out of flight, no verdict on the deployment
        (a breaker trial cut short lets the next request try again)."""
        state = self.get(deployment_id)
        state.inflight -= 1
        state.trial_running = False

    def ready(self, deployment_id: str) -> bool:
        """What /v1/models says: not failed its last probe, and its breaker not open. Hosted
        providers are never probed (a probe costs their quota), so their readiness is the
        breaker's passive statistics: consecutive failures make them not ready until a
        trial request succeeds."""
        return (
            self.get(deployment_id).healthy is not False and self.breaker(deployment_id) != "open"
        )

    def set_health(self, deployment_id: str, healthy: bool) -> None:
        self.get(deployment_id).healthy = healthy

    def now(self) -> float:
        return self._clock()

    def report_load(
        self,
        deployment_id: str,
        running: int,
        waiting: int,
        kv_usage: float | None,
        *,
        saturated: bool,
        fresh_for_s: float,
        inflight_at: int | None = None,
    ) -> None:
        """`inflight_at`: this router's in-flight count when the scrape was sent (default:
        now). Taken when it is sent, the report and the count describe the same moment; a
        request that ended while the scrape round was finishing would otherwise stay
        counted until the next report."""
        state = self.get(deployment_id)
        now = self._clock()
        mine = state.inflight if inflight_at is None else inflight_at
        state.report = LoadReport(
            running, waiting, kv_usage, now, now + fresh_for_s, saturated, mine
        )

    def fresh_report(self, deployment_id: str, now: float) -> LoadReport | None:
        """The deployment's own load report while it is trusted (the `least_load` strategy
        reads its queue and KV cache)."""
        report = self.get(deployment_id).report
        return None if report is None or now >= report.expires_at else report

    def load(self, deployment_id: str, now: float) -> tuple[bool, int]:
        """(saturated, load) as the picker ranks deployments; see the module docstring."""
        state = self.get(deployment_id)
        report = state.report
        if report is None or now >= report.expires_at:
            return False, state.inflight
        reported = report.running + report.waiting + state.inflight - report.inflight_at
        return report.saturated, reported if reported > state.inflight else state.inflight
