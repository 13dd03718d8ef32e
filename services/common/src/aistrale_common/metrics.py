"""Prometheus metrics per service, in a registry per app (never the global one).

Names follow `aistrale_<service>_<thing>_{total,seconds}`; labels are route templates,
never raw paths or keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

M = TypeVar("M", Counter, Gauge, Histogram)

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)


def _runtime_registry() -> CollectorRegistry:
    """process_* (CPU, memory, open fds) and python_* (GC, version): one set per process,
    shared by every service in it, so `make run`'s one /metrics does not repeat them."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


RUNTIME = _runtime_registry()


def runtime_metrics() -> bytes:
    return generate_latest(RUNTIME)


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.prefix = "aistrale_" + service.replace("-", "_")
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = self.counter(
            "http_requests_total", "HTTP requests served", ("method", "route", "status")
        )
        self.http_seconds = self.histogram(
            "http_request_seconds", "HTTP request duration", ("method", "route")
        )
        self.dependency_up = self.gauge(
            "dependency_up",
            "1 when the dependency answered the last readiness check",
            ("dependency",),
        )

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(
            f"{self.prefix}_{name.removesuffix('_total')}", doc, labels, registry=self.registry
        )

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(f"{self.prefix}_{name}", doc, labels, registry=self.registry)

    def histogram(
        self,
        name: str,
        doc: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return Histogram(
            f"{self.prefix}_{name}", doc, labels, buckets=buckets, registry=self.registry
        )

    def render(self, *, runtime: bool = True) -> bytes:
        """The service's series, and the process's unless `runtime` is False (one process
        serving several services renders those once)."""
        own = generate_latest(self.registry)
        return own + runtime_metrics() if runtime else own


class Children(Generic[M]):
    """A metric's children by label values, made once: `.labels()` takes a lock and builds
    a key on every call, which costs more than the inc or observe itself. The label values
    must be bounded (route templates, statuses, catalog names), since every child stays."""

    __slots__ = ("_made", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._made: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._made.get(values)
        if child is None:
            child = self._made[values] = self._metric.labels(*values)
        return child
