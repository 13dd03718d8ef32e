"""The router's per-request series, the ones the alerts and dashboards are built on.

Recorded once per request, where its usage event is built (gateway/metering.py), so a request
counts once whatever its outcome. `model` is a catalog model name or "unknown", never the
client's raw string: cardinality stays bounded by the catalog, and so do the cached children
(`aistrale_common.metrics.Children`).
"""

from __future__ import annotations

from collections.abc import Callable

from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import Children, ServiceMetrics
from aistrale_router.answer_cache.store import CacheMetrics
from aistrale_router.gateway.request import PATHS
from aistrale_router.observability.usage_metrics import OrgLabel, UsageCounters
from aistrale_router.queueing.gate import QueueMetrics
from aistrale_router.routing.decisions import RoutingDecisions

UNKNOWN = "unknown"
ROUTES: dict[str, str] = {endpoint: "/v1" + path for endpoint, path in PATHS.items()}
# Inbound protocols (protocols/base.py) are counted under their own route, `/v1/<name>`.
_ENDPOINTS: dict[str, str] = {endpoint: endpoint for endpoint in PATHS}
_PROTOCOLS = frozenset({"responses", "messages"})


class GatewayMetrics:
    def __init__(
        self,
        metrics: ServiceMetrics,
        in_catalog: Callable[[str], bool],
        orgs: OrgLabel | None = None,
    ) -> None:
        self.requests = metrics.counter(
            "requests_total",
            "/v1 model requests by route template, final HTTP status and catalog model",
            ("route", "status", "model"),
        )
        self.seconds = metrics.histogram(
            "request_seconds",
            "Time from a /v1 model request's arrival to the end of its response",
            ("route",),
        )
        self.ttft = metrics.histogram(
            "upstream_ttft_seconds",
            "Time from a streamed request's arrival to its first upstream chunk",
            ("model",),
        )
        self.usage = UsageCounters(metrics, orgs)
        self.answer_cache = CacheMetrics(metrics)
        self.queue = QueueMetrics(metrics)
        self.routing = RoutingDecisions(metrics)  # counted by the picker
        self._in_catalog = in_catalog
        self._counts = Children(self.requests)
        self._seconds = Children(self.seconds)
        self._ttft = Children(self.ttft)

    def finished(
        self, endpoint: str, model: str, status: int, seconds: float, ttft_s: float | None
    ) -> None:
        model = model if self._in_catalog(model) else UNKNOWN
        route = ROUTES.get(endpoint) or "/v1/" + endpoint
        self._counts(route, str(status), model).inc()
        self._seconds(route).observe(seconds)
        if ttft_s is not None:
            self._ttft(model).observe(ttft_s)

    def metered(self, event: UsageEventV1) -> None:
        model = event.model if self._in_catalog(event.model) else UNKNOWN
        self.usage.observe(model, event)

    def refused(self, name: str, status: int, seconds: float) -> None:
        """A request refused before the gateway had it (413, still starting), by the
        endpoint's name in the front door (`chat`, ...); not a model request: not counted."""
        endpoint = _ENDPOINTS.get(name)
        if endpoint is None and name in _PROTOCOLS:
            endpoint = name
        if endpoint is not None:
            self.finished(endpoint, UNKNOWN, status, seconds, None)
