"""The declared Redis-down policy, both settings, with Redis taken away by a cut proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from aistrale_common.budget_counters import scope_key
from aistrale_common.errors import QuotaExceeded, RateLimited, ServiceUnavailable
from aistrale_common.health import run_checks
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.admission import AdmissionRequest, ManagedGatekeeper, Settlement
from aistrale_router.admission import build_gatekeeper as build
from aistrale_router.admission.redis_store import RedisStore
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import FakeClock, drop_keys, key, model
from aistrale_testkit.tcp_proxy import TcpProxy, tcp_proxy

REQUEST = AdmissionRequest(key(org_budget=10_000, rpm_limit=2), model(), 100, 200)


@pytest.fixture
def proxy(infra: Infra) -> Iterator[TcpProxy]:
    target = urlsplit(infra.redis_url)
    with tcp_proxy(target.hostname or "127.0.0.1", target.port or 6379) as running:
        yield running


def gatekeeper(
    infra: Infra,
    proxy: TcpProxy,
    policy: str,
    metrics: ServiceMetrics,
    prefix: str,
    share: float = 1.0,  # the whole limit: these tests are about per-process enforcement
) -> ManagedGatekeeper:
    settings = Settings(
        budget_redis_down_policy=policy,
        budget_redis_timeout_s=0.5,
        budget_redis_retry_s=0.2,
        budget_fail_open_share=share,
    )
    url = f"redis://127.0.0.1:{proxy.port}/0"
    return build(settings, redis_url=url, prefix=prefix, metrics=metrics, clock=FakeClock())


def gauge(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"aistrale_api_router_{name}", labels or None)


async def test_fail_closed_refuses_while_redis_is_down(infra: Infra, proxy: TcpProxy) -> None:
    metrics, prefix = ServiceMetrics("api-router"), f"{infra.redis_prefix}closed:"
    gk = gatekeeper(infra, proxy, "fail_closed", metrics, prefix)
    try:
        admitted = await gk.admit(REQUEST)
        proxy.cut()
        with pytest.raises(ServiceUnavailable) as refused:
            await gk.admit(REQUEST)
        assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "1"
        await gk.settle(admitted, Settlement(100, 200, 500))  # kept for replay, no raise
        ready, results = await run_checks(gk.checks(), metrics)
        assert not ready and results["limits"].startswith("error:")
        assert gauge(metrics, "admission_store_up") == 0
        assert gauge(metrics, "admission_redis_down_policy", policy="fail_closed") == 1
        assert gauge(metrics, "admission_pending_settlements") == 1
        proxy.restore()
        await asyncio.sleep(0.25)  # past budget_redis_retry_s
        assert (await gk.admit(REQUEST)).headers["x-ratelimit-remaining-requests"] == "0"
        assert (await run_checks(gk.checks(), metrics))[0]
        await _settled(infra, prefix, 500)
    finally:
        await gk.close()
        await drop_keys(infra.redis_url, prefix)


async def test_fail_open_limits_per_process_and_catches_up(infra: Infra, proxy: TcpProxy) -> None:
    metrics, prefix = ServiceMetrics("api-router"), f"{infra.redis_prefix}open:"
    gk = gatekeeper(infra, proxy, "fail_open", metrics, prefix)
    try:
        proxy.cut()
        first = await gk.admit(REQUEST)  # decided by the per-process limiter
        second = await gk.admit(REQUEST)
        with pytest.raises(RateLimited):
            await gk.admit(REQUEST)
        ready, results = await run_checks(gk.checks(), metrics)
        assert ready and results["limits"].startswith("degraded: redis unavailable, fail_open")
        assert gauge(metrics, "dependency_up", dependency="limits") == 0
        assert gauge(metrics, "admission_decisions_total", outcome="admitted", store="local") == 2
        limited = gauge(metrics, "admission_decisions_total", outcome="rate_limited", store="local")
        assert limited == 1
        await gk.settle(first, Settlement(100, 200, 500))
        await gk.settle(second, Settlement(100, 100, 300))
        proxy.restore()
        assert (await run_checks(gk.checks(), metrics))[0]  # Redis answers: replay starts
        await _settled(infra, prefix, 800)
    finally:
        await gk.close()
        await drop_keys(infra.redis_url, prefix)


async def test_fail_open_still_enforces_budgets_locally(infra: Infra, proxy: TcpProxy) -> None:
    metrics, prefix = ServiceMetrics("api-router"), f"{infra.redis_prefix}openb:"
    gk = gatekeeper(infra, proxy, "fail_open", metrics, prefix)
    try:
        proxy.cut()
        small = AdmissionRequest(key(org_budget=600), model(), 100, 200)
        assert (await gk.admit(small)).max_tokens == 200
        with pytest.raises(QuotaExceeded):
            await gk.admit(small)
        assert gauge(metrics, "budget_rejections_total", org_id="o1") == 1
        limited = AdmissionRequest(key(key_id="k2", rpm_limit=1), model(), 100, 200)
        await gk.admit(limited)
        with pytest.raises(RateLimited):
            await gk.admit(limited)
        assert gauge(metrics, "budget_rejections_total", org_id="o1") == 1  # not a budget
    finally:
        await gk.close()


async def _settled(infra: Infra, prefix: str, expected: int) -> None:
    """Waits for the replayed settlements to reach Redis (they run off the request path)."""
    store = RedisStore(infra.redis_url, timeout_s=2.0)
    name = f"{scope_key(f'{prefix}{{o1}}:', 'org', 'o1')}:s:d20261118"
    try:
        for _ in range(100):
            if await store.read(name, 0) == expected:
                return
            await asyncio.sleep(0.02)
        assert await store.read(name, 0) == expected
    finally:
        await store.close()
