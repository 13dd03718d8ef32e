"""The router's per-request series, the ones the alerts and dashboards are built on.

Recorded once per request, where its usage event is built (gateway/metering.py), so a request
counts once whatever its outcome. `model` is a catalog model name or "unknown", never the
client's raw string: cardinality stays bounded by the catalog, and so do the cached children
(`aistrale_common.metrics.Children`).
"""

from __future__ import annotations

from collections.abc import Callable

from aistrale_common.metrics import Children, ServiceMetrics
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.gateway.request import PATHS, Endpoint

UNKNOWN = "unknown"
ROUTES: dict[Endpoint, str] = {endpoint: "/v1" + path for endpoint, path in PATHS.items()}


class GatewayMetrics:
    def __init__(self, metrics: ServiceMetrics, in_catalog: Callable[[str], bool]) -> None:
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
        self._in_catalog = in_catalog
        self._counts = Children(self.requests)
        self._seconds = Children(self.seconds)
        self._ttft = Children(self.ttft)

    def finished(
        self, endpoint: Endpoint, model: str, status: int, seconds: float, ttft_s: float | None
    ) -> None:
        model = model if self._in_catalog(model) else UNKNOWN
        route = ROUTES[endpoint]
        self._counts(route, str(status), model).inc()
        self._seconds(route).observe(seconds)
        if ttft_s is not None:
            self._ttft(model).observe(ttft_s)


def in_catalog(store: CatalogStore) -> Callable[[str], bool]:
    """Whether a name is in the catalog as it is now (it reloads)."""
    return lambda name: store.catalog.get(name) is not None
