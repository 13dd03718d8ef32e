"""Tokens and cost per catalog model, counted where the usage event is built.

`org_id` is a label only when asked for (`AISTRALE_METRICS_ORG_LABEL`), and then bounded:
the first `max_orgs` orgs a replica sees get their own series, every later one is counted
as "other". Per-org truth lives in analytics; this is for dashboards and alerts.
"""

from __future__ import annotations

from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import Children, ServiceMetrics

OTHER_ORGS = "other"
KINDS = ("prompt", "completion", "cached")


class OrgLabel:
    """The label value for an org: itself while fewer than `max_orgs` were seen."""

    def __init__(self, max_orgs: int) -> None:
        self._max = max_orgs
        self._seen: set[str] = set()

    def __call__(self, org_id: str) -> str:
        if org_id in self._seen:
            return org_id
        if len(self._seen) < self._max:
            self._seen.add(org_id)
            return org_id
        return OTHER_ORGS


class UsageCounters:
    def __init__(self, metrics: ServiceMetrics, orgs: OrgLabel | None = None) -> None:
        extra = ("org_id",) if orgs is not None else ()
        self.tokens = metrics.counter(
            "tokens_total",
            "Tokens metered (as in usage events) by catalog model and kind: prompt, "
            "completion, cached (a part of prompt)",
            ("model", "kind", *extra),
        )
        self.cost = metrics.counter(
            "cost_micro_usd_total",
            "Cost metered (as in usage events), integer micro-USD, by catalog model",
            ("model", *extra),
        )
        self._orgs = orgs
        self._tokens = Children(self.tokens)
        self._cost = Children(self.cost)

    def observe(self, model: str, event: UsageEventV1) -> None:
        """`model`: the catalog name or "unknown" (bounded, like every router label)."""
        org = () if self._orgs is None else (self._orgs(event.org_id),)
        counts = (event.prompt_tokens, event.completion_tokens, event.cached_tokens)
        # A counter's inc takes a lock: skip the zeros (refusals, cached tokens, free models).
        for kind, count in zip(KINDS, counts, strict=True):
            if count:
                self._tokens(model, kind, *org).inc(count)
        if event.cost_micro_usd:
            self._cost(model, *org).inc(event.cost_micro_usd)
