"""Fixtures for the admission contract: one suite, two stores (Redis and in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aistrale_router.admission.gatekeeper import AdmissionConfig, StoreGatekeeper
from aistrale_router.admission.memory import MemoryStore
from aistrale_router.admission.redis_store import RedisStore
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import FakeClock, Harness, drop_keys


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def harness(
    request: pytest.FixtureRequest, infra: Infra, clock: FakeClock
) -> AsyncIterator[Harness]:
    prefix = f"{infra.redis_prefix}adm:{request.node.name}:"
    config = AdmissionConfig(prefix=prefix, reservation_ttl_s=600, min_output_tokens=16)
    if request.param == "memory":
        yield Harness(StoreGatekeeper(MemoryStore(), config, clock, shared=False), clock, prefix)
        return
    store = RedisStore(infra.redis_url, timeout_s=2.0)
    try:
        yield Harness(StoreGatekeeper(store, config, clock, shared=True), clock, prefix)
    finally:
        await store.close()
        await drop_keys(infra.redis_url, prefix)
