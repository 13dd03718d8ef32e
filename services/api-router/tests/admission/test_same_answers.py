"""The Lua scripts and the in-process store compute the same grants and holds, also for
awkward prices and sizes where float arithmetic in Lua could round the wrong way."""

from __future__ import annotations

import random

import pytest

from aistrale_common.errors import QuotaExceeded
from aistrale_router.admission import AdmissionRequest
from aistrale_router.admission.gatekeeper import AdmissionConfig, StoreGatekeeper
from aistrale_router.admission.memory import MemoryStore
from aistrale_router.admission.pricing import affordable_tokens, request_cost
from aistrale_router.admission.redis_store import RedisStore
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import FakeClock, drop_keys, key, model


def cases(n: int) -> list[tuple[int, int, int, int, int | None, int, int]]:
    rng = random.Random(42)
    out = []
    for _ in range(n):
        price_in = rng.choice([0, 1, 3, 150_000, 2_500_000, 15_000_000, 99_999_999])
        price_out = rng.choice([0, 7, 600_000, 10_000_000, 75_000_000, 99_999_997])
        prompt = rng.choice([0, 1, 17, 1_000, 128_000, 1_000_000])
        max_output = rng.choice([1, 4_096, 32_768, 128_000])
        max_tokens = rng.choice([None, 1, 16, 100, 10_000])
        budget = rng.choice([0, 1, 999, 123_457, 10_000_000, 9_000_000_000_000])
        choices = rng.choice([1, 1, 2, 7, 128])
        out.append((price_in, price_out, prompt, max_output, max_tokens, budget, choices))
    return out


Case = tuple[int, int, int, int, int | None, int, int]


async def decide(gatekeeper: StoreGatekeeper, case: Case, n: int) -> tuple[int, ...]:
    price_in, price_out, prompt, max_output, max_tokens, budget, choices = case
    record = key(key_id=f"k{n}", key_budget=budget, tpm_limit=10**7)
    pricing = model(price_in, price_out, max_output)
    request = AdmissionRequest(record, pricing, prompt, max_tokens, choices)
    try:
        admission = await gatekeeper.admit(request)
    except QuotaExceeded:
        return (-1,)
    return (admission.max_tokens or -2, admission.held_micro_usd)


async def test_lua_and_python_agree(infra: Infra) -> None:
    prefix = f"{infra.redis_prefix}same:"
    config = AdmissionConfig(prefix=prefix, min_output_tokens=1)
    store = RedisStore(infra.redis_url, timeout_s=2.0)
    shared = StoreGatekeeper(store, config, FakeClock(), shared=True)
    local = StoreGatekeeper(MemoryStore(), config, FakeClock(), shared=False)
    try:
        for n, case in enumerate(cases(300)):
            assert await decide(shared, case, n) == await decide(local, case, n), case
    finally:
        await store.close()
        await drop_keys(infra.redis_url, prefix)


@pytest.mark.parametrize("case", cases(300))
def test_affordable_is_the_largest_payable(case: Case) -> None:
    price_in, price_out, prompt, _, _, budget, n = case
    want = 50_000
    tokens = affordable_tokens(budget, prompt, price_in, price_out, want, n)
    if tokens < 0:
        assert request_cost(price_in, price_out, prompt, 0) > budget
        return
    assert request_cost(price_in, price_out, prompt, tokens * n) <= budget
    if tokens < want:
        assert request_cost(price_in, price_out, prompt, (tokens + 1) * n) > budget
