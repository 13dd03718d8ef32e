"""The router's per-request series, the ones the alerts and dashboards are built on.

Recorded once per request, where its usage event is built (gateway/metering.py), so a request
counts once whatever its outcome. `model` is a catalog model name or "unknown", never the
client's raw string: cardinality stays bounded by the catalog. Children are cached per label
tuple (`.labels()` takes a lock and builds a key each call); only catalog names are cached,
so the caches are bounded too.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Histogram

from aistrale_common.metrics import ServiceMetrics
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
        self._counts: dict[tuple[Endpoint, int, str], Counter] = {}
        self._seconds: dict[Endpoint, Histogram] = {}
        self._ttft: dict[str, Histogram] = {}

    def finished(
        self, endpoint: Endpoint, model: str, status: int, seconds: float, ttft_s: float | None
    ) -> None:
        count = self._counts.get((endpoint, status, model))
        if count is None:
            count = self._count_child(endpoint, status, model)
        count.inc()
        timer = self._seconds.get(endpoint)
        if timer is None:
            timer = self._seconds[endpoint] = self.seconds.labels(ROUTES[endpoint])
        timer.observe(seconds)
        if ttft_s is not None:
            first = self._ttft.get(model)
            if first is None:
                first = self._ttft_child(model)
            first.observe(ttft_s)

    def _count_child(self, endpoint: Endpoint, status: int, model: str) -> Counter:
        known = self._in_catalog(model)
        child = self.requests.labels(ROUTES[endpoint], str(status), model if known else UNKNOWN)
        if known:
            self._counts[(endpoint, status, model)] = child
        return child

    def _ttft_child(self, model: str) -> Histogram:
        if not self._in_catalog(model):
            return self.ttft.labels(UNKNOWN)
        child = self._ttft[model] = self.ttft.labels(model)
        return child


def in_catalog(store: CatalogStore) -> Callable[[str], bool]:
    """Whether a name is in the catalog as it is now (it reloads)."""
    return lambda name: store.catalog.get(name) is not None
