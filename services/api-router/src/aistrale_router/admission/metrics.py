"""Admission metrics: decisions, the store's health and the declared Redis-down policy."""

from __future__ import annotations

from aistrale_common.metrics import Children, ServiceMetrics
from aistrale_router.admission.verdict import NO_QUOTA

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
            "admission_store_seconds",
            "One limits-store call (in process for an admission from a lease)",
            ("op",),
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
        # By org: what AistraleBudgetExhaustion names; bounded by the number of orgs.
        self.budget_rejections = metrics.counter(
            "budget_rejections_total",
            "Admissions refused because a budget cannot pay (insufficient_quota)",
            ("org_id",),
        )
        self._budget_rejections = Children(self.budget_rejections)
        self.lease_admissions = metrics.counter(
            "admission_lease_admissions_total",
            "Admissions decided in process from a lease (a subset of the shared ones)",
        )
        self.leased = metrics.gauge(
            "admission_leased_micro_usd",
            "Budget this replica's leases hold in Redis (not yet spent, in flight included)",
        )
        self.store_faults = metrics.counter(
            "admission_store_faults_total",
            "Limits-store calls Redis answered with an error a retry will not fix (a bug; "
            "it fails only the requests of the scope concerned)",
            ("op",),
        )
        self.settlements_lost = metrics.counter(
            "admission_settlements_lost_total",
            "Settlements never applied to Redis (shutdown with Redis away, or kept failing)",
        )
        self._decided = Children(self.decisions)
        self._store_ops = Children(self.store_seconds)
        self.store_up.set(1)
        self.policy.labels(policy).set(1)

    def decided(self, status: int, *, shared: bool, org_id: str) -> None:
        self._decided(OUTCOMES[status], "shared" if shared else "local").inc()
        if status == NO_QUOTA:
            self._budget_rejections(org_id).inc()

    def store_call(self, op: str, seconds: float) -> None:
        self._store_ops(op).observe(seconds)

    def store_fault(self, op: str) -> None:
        self.store_faults.labels(op).inc()
