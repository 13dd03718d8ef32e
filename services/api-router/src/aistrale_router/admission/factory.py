"""`build_gatekeeper`: the Redis-backed gatekeeper with its declared Redis-down policy, or
the in-process one when there is no Redis (`make run`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from aistrale_common.clock import Clock, system_clock
from aistrale_common.health import Check
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.admission.fail_open import LastSeen
from aistrale_router.admission.faults import RecentFaults
from aistrale_router.admission.gatekeeper import AdmissionConfig, StoreGatekeeper
from aistrale_router.admission.leases import LeaseConfig, LeasingStore
from aistrale_router.admission.memory import MemoryStore
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.port import ManagedGatekeeper
from aistrale_router.admission.redis_store import RedisStore
from aistrale_router.admission.resilient import ResilientGatekeeper
from aistrale_router.settings import SERVICE, Settings


class LocalGatekeeper(StoreGatekeeper):
    """The embedded adapter: one process, no dependency; its store is always there."""

    def __init__(self, config: AdmissionConfig, clock: Clock, metrics: AdmissionMetrics) -> None:
        super().__init__(MemoryStore(), config, clock, shared=False, metrics=metrics)

    def checks(self) -> Mapping[str, Check]:
        return {"limits": _always_ready}

    async def close(self) -> None:
        return None


def build_gatekeeper(
    settings: Settings,
    *,
    redis_url: str | None,
    prefix: str,
    metrics: ServiceMetrics | None = None,
    clock: Clock = system_clock,
    counted: AdmissionMetrics | None = None,
) -> ManagedGatekeeper:
    """Nothing connects here: the Redis connection opens on the first call (STYLE.md: no
    I/O at construction). Close it in the lifespan (`open_gatekeeper` does both).
    `counted`: metrics already registered (an app's lifespan may run more than once)."""
    config = AdmissionConfig(
        prefix=prefix,
        reservation_ttl_s=settings.reservation_ttl_s,
        min_output_tokens=settings.budget_min_output_tokens,
        stream_extension_tokens=settings.budget_stream_extension_tokens,
    )
    if counted is None:
        counted = admission_metrics(settings, metrics or ServiceMetrics(SERVICE))
    if redis_url is None:
        return LocalGatekeeper(config, clock, counted)
    seen = LastSeen(settings.budget_fail_open_share)
    faults = RecentFaults(counted)
    store = LeasingStore(
        RedisStore(redis_url, timeout_s=settings.budget_redis_timeout_s),
        LeaseConfig(
            divisor=settings.budget_lease_divisor,
            ttl_s=settings.budget_lease_ttl_s,
            idle_s=settings.budget_lease_idle_s,
        ),
        clock,
        counted,
        seen=seen,
        faults=faults,
    )
    return ResilientGatekeeper(
        store,
        StoreGatekeeper(store, config, clock, shared=True, metrics=counted),
        StoreGatekeeper(MemoryStore(), config, clock, shared=False, metrics=counted),
        policy=settings.budget_redis_down_policy,
        retry_s=settings.budget_redis_retry_s,
        metrics=counted,
        seen=seen,
        faults=faults,
    )


def admission_metrics(settings: Settings, metrics: ServiceMetrics) -> AdmissionMetrics:
    return AdmissionMetrics(metrics, settings.budget_redis_down_policy)


@asynccontextmanager
async def open_gatekeeper(
    settings: Settings, counted: AdmissionMetrics
) -> AsyncIterator[ManagedGatekeeper]:
    """The service's gatekeeper for the length of its lifespan."""
    gatekeeper = build_gatekeeper(
        settings, redis_url=settings.redis_url, prefix=settings.redis_prefix, counted=counted
    )
    try:
        yield gatekeeper
    finally:
        await gatekeeper.close()


async def _always_ready() -> None:
    return None
