"""Admission metrics: decisions, the store's health and the declared Redis-down policy."""

from __future__ import annotations

from aistrale_common.metrics import ServiceMetrics

# By verdict status (verdict.py: ADMITTED, RATE_LIMITED, NO_QUOTA); and "store_unavailable".
OUTCOMES = ("admitted", "rate_limited", "insufficient_quota")


class AdmissionMetrics:
    def __init__(self, metrics: ServiceMetrics, policy: str) -> None:
        self.decisions = metrics.counter(
            "admission_decisions_total",
            "Admissions by outcome and by the store that decided (shared Redis or local)",
            ("outcome", "store"),
        )
        self.store_seconds = metrics.histogram(
            "admission_store_seconds", "One limits-store round trip", ("op",)
        )
        self.store_up = metrics.gauge(
            "admission_store_up", "1 while the shared limits store (Redis) answers"
        )
        self.policy = metrics.gauge(
            "admission_redis_down_policy",
            "The declared policy when Redis is down (1 for the configured one)",
            ("policy",),
        )
        self.pending_settlements = metrics.gauge(
            "admission_pending_settlements",
            "Settlements waiting for Redis to come back, to be replayed",
        )
        self.store_up.set(1)
        self.policy.labels(policy).set(1)

    def decided(self, status: int, *, shared: bool) -> None:
        self.decisions.labels(OUTCOMES[status], "shared" if shared else "local").inc()
