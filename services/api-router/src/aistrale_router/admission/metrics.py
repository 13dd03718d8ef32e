"""Admission metrics: decisions, the store's health and the declared Redis-down policy."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from aistrale_common.metrics import ServiceMetrics
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
        # By org: what AistraleBudgetExhaustion names; bounded by the number of orgs.
        self.budget_rejections = metrics.counter(
            "budget_rejections_total",
            "Admissions refused because a budget cannot pay (insufficient_quota)",
            ("org_id",),
        )
        self._budget_rejections: dict[str, Counter] = {}
        self.lease_admissions = metrics.counter(
            "admission_lease_admissions_total",
            "Admissions decided in process from a lease (a subset of the shared ones)",
        )
        self.leased = metrics.gauge(
            "admission_leased_micro_usd",
            "Budget this replica's leases hold in Redis (not yet spent, in flight included)",
        )
        # Children by label values: `.labels()` costs more than the inc or observe itself.
        self._decided: dict[tuple[int, bool], Any] = {}
        self._store_ops: dict[str, Any] = {}
        self.store_up.set(1)
        self.policy.labels(policy).set(1)

    def decided(self, status: int, *, shared: bool, org_id: str) -> None:
        child = self._decided.get((status, shared))
        if child is None:
            store = "shared" if shared else "local"
            child = self._decided[(status, shared)] = self.decisions.labels(OUTCOMES[status], store)
        child.inc()
        if status == NO_QUOTA:
            rejected = self._budget_rejections.get(org_id)
            if rejected is None:
                rejected = self._budget_rejections[org_id] = self.budget_rejections.labels(org_id)
            rejected.inc()

    def store_call(self, op: str, seconds: float) -> None:
        child = self._store_ops.get(op)
        if child is None:
            child = self._store_ops[op] = self.store_seconds.labels(op)
        child.observe(seconds)
