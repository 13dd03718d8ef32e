"""One contract, two adapters: the in-process store must behave exactly like Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aistrale_common.limits import LimiterStore, MemoryLimiterStore, RedisLimiterStore
from aistrale_common.testing.fixtures import Infra


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, infra: Infra, clock: FakeClock
) -> AsyncIterator[LimiterStore]:
    if request.param == "memory":
        adapter: LimiterStore = MemoryLimiterStore(clock)
    else:
        prefix = f"{infra.redis_prefix}{request.node.name}:"
        adapter = RedisLimiterStore(infra.redis_url, prefix, clock)
    yield adapter
    await adapter.close()


async def test_allows_up_to_the_limit_then_refuses(store: LimiterStore) -> None:
    results = [await store.consume("k", 1, 3, 60) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]


async def test_refused_amount_is_not_added(store: LimiterStore) -> None:
    assert (await store.consume("k", 8, 10, 60)).allowed
    assert not (await store.consume("k", 5, 10, 60)).allowed
    decision = await store.consume("k", 2, 10, 60)
    assert decision.allowed and decision.remaining == 0


async def test_new_window_starts_from_zero(store: LimiterStore, clock: FakeClock) -> None:
    clock.now = 1_700_000_080.0  # 20 s before the minute ends
    assert (await store.consume("k", 5, 5, 60)).allowed
    refused = await store.consume("k", 1, 5, 60)
    assert not refused.allowed and refused.reset_after_s == pytest.approx(20.0)
    clock.now += 20.0
    assert (await store.consume("k", 5, 5, 60)).allowed


async def test_keys_are_independent(store: LimiterStore) -> None:
    assert (await store.consume("a", 1, 1, 60)).allowed
    assert (await store.consume("b", 1, 1, 60)).allowed
    assert not (await store.consume("a", 1, 1, 60)).allowed


async def test_concurrent_consumers_never_pass_the_limit(store: LimiterStore) -> None:
    results = await asyncio.gather(*(store.consume("hot", 1, 10, 60) for _ in range(60)))
    assert sum(r.allowed for r in results) == 10


async def test_ping_answers(store: LimiterStore) -> None:
    await store.ping()
