"""Periodic reconciliation: spend per org and key and period, analytics vs Redis counters.

Analytics is the ledger (every event exactly once). Redis undercounts when a settlement was
lost (a router died between response and settle, Redis lost writes on failover): then the
counter is raised to the ledger by an atomic, idempotent script, so budgets hold. Redis may also be
ahead for a while (events still in an outbox, or in flight): that is reported as drift but
never corrected downwards, which could let an org overspend (docs/usage-pipeline.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge

from aistrale_analytics.reconcile import repository
from aistrale_analytics.reconcile.counters import SpendCounters
from aistrale_common.budget_counters import SPEND_TTL_S, Scope, spend_key
from aistrale_common.budget_periods import PERIODS, Period, period_label, period_start
from aistrale_common.db import Database
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.tasks import every, stop_task

log = get_logger(__name__)


class ReconcileMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.drift: Gauge = metrics.gauge(
            "budget_drift_micro_usd",
            "Redis spend minus analytics spend, summed over counters, at the last run",
            ("period", "scope", "direction"),
        )
        self.corrected: Counter = metrics.counter(
            "budget_corrected_micro_usd_total",
            "Micro-USD added to Redis spend counters that undercounted",
            ("period", "scope"),
        )
        self.runs: Counter = metrics.counter(
            "reconcile_runs_total", "Reconciliation runs", ("outcome",)
        )


@dataclass(frozen=True, slots=True)
class Drift:
    period: Period
    scope: Scope
    key: str
    ledger: int
    counter: int

    @property
    def delta(self) -> int:
        return self.counter - self.ledger


class Reconciler:
    def __init__(
        self, db: Database, counters: SpendCounters, prefix: str, metrics: ReconcileMetrics
    ) -> None:
        self._db = db
        self._counters = counters
        self._prefix = prefix
        self._metrics = metrics

    async def run_once(self, now: datetime) -> list[Drift]:
        drifts: list[Drift] = []
        for period in PERIODS:
            drifts += await self._reconcile_period(period, now)
        return drifts

    async def _reconcile_period(self, period: Period, now: datetime) -> list[Drift]:
        ledger = await repository.spend_since(self._db, period_start(period, now))
        label = period_label(period, now.timestamp())
        keys = [spend_key(self._prefix, org, scope, sid, label) for org, scope, sid in ledger]
        counters = await self._counters.read(keys)
        drifts = [
            Drift(period, scope, key, spent, counted)
            for ((_, scope, _), spent), key, counted in zip(
                ledger.items(), keys, counters, strict=True
            )
        ]
        for drift in drifts:
            if drift.delta < 0:
                added = await self._counters.raise_to(drift.key, drift.ledger, SPEND_TTL_S[period])
                self._metrics.corrected.labels(period, drift.scope).inc(added)
        self._record(period, drifts)
        return drifts

    def _record(self, period: Period, drifts: list[Drift]) -> None:
        for scope in ("org", "key"):
            ahead = sum(d.delta for d in drifts if d.scope == scope and d.delta > 0)
            behind = sum(-d.delta for d in drifts if d.scope == scope and d.delta < 0)
            self._metrics.drift.labels(period, scope, "redis_ahead").set(ahead)
            self._metrics.drift.labels(period, scope, "redis_behind").set(behind)


class ReconcileLoop:
    def __init__(self, reconciler: Reconciler, metrics: ReconcileMetrics, interval_s: float):
        self._reconciler = reconciler
        self._metrics = metrics
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def _loop(self) -> None:
        await every(self._interval_s, self._run_once, failure_event="reconcile_failed")

    async def _run_once(self) -> None:
        try:
            await self._reconciler.run_once(datetime.now(UTC))
        except Exception:  # Redis or the database away: the next run catches up
            self._metrics.runs.labels("error").inc()
            raise
        self._metrics.runs.labels("ok").inc()
