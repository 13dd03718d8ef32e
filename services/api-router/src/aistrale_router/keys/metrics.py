"""Key cache metrics: how often a request was authenticated from an answer user-org has not
confirmed, and how the background refreshes went. Label values are closed sets."""

from __future__ import annotations

from typing import Literal

from aistrale_common.metrics import Children, ServiceMetrics

# expired: past its TTL (refresh running); changed: a control event came and user-org is
# failing; lookup_failed: asked after a control event or a miss, and user-org did not answer.
StaleReason = Literal["expired", "changed", "lookup_failed"]
# ok: a record; unknown: user-org said 404; failed: no answer.
RefreshOutcome = Literal["ok", "unknown", "failed"]


class KeyMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.stale_served = metrics.counter(
            "key_stale_served_total",
            "Requests authenticated from a cached key answer user-org has not confirmed",
            ("reason",),
        )
        self.refreshes = metrics.counter(
            "key_refreshes_total",
            "Background refreshes of cached key answers, by outcome",
            ("outcome",),
        )
        self._stale = Children(self.stale_served)
        self._refreshes = Children(self.refreshes)

    def served_stale(self, reason: StaleReason) -> None:
        self._stale(reason).inc()

    def refreshed(self, outcome: RefreshOutcome) -> None:
        self._refreshes(outcome).inc()
