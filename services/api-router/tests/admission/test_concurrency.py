"""200 concurrent requests, half streamed, against a budget that pays for about 10.

The design's bound (docs/budgets.md): with every request settled before its reservation
expires, the spend of a budget period never passes

    limit + sum over admitted requests of ceil(((P - E)+ x price_in + K x price_out) / 1e6)

where E is the prompt estimate given to admit, P the real prompt tokens, and K the
completion tokens the upstream produced after the last `check_stream` that passed (0 for a
non-streamed upstream that honours max_tokens; at most one chunk for a relayed stream).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from aistrale_common.budget_counters import scope_key
from aistrale_common.errors import QuotaExceeded
from aistrale_router.admission import AdmissionRequest, Settlement, cost_micro_usd
from aistrale_testkit.router.admission import Harness, key, model

BUDGET = 5_000  # micro-USD; a worst case is 100 prompt x 1 + 200 out x 2 = 500
ESTIMATE = 100
MODEL = model()


@dataclass(frozen=True)
class Shape:
    streamed: bool
    underestimate: int  # real prompt tokens past the estimate
    chunk: int  # completion tokens per SSE chunk
    runaway: bool  # an upstream that ignores max_tokens
    prompt_in_stream: bool  # usage in every chunk (vLLM continuous_usage_stats)


@dataclass(frozen=True)
class Outcome:
    admitted: bool
    cost: int = 0
    bound: int = 0  # this request's term of the stated bound


def shapes(seed: int) -> list[Shape]:
    rng = random.Random(seed)
    return [
        Shape(
            streamed=i % 2 == 0,
            underestimate=rng.choice([0, 0, 0, 9]),
            chunk=rng.choice([1, 3, 5]),
            runaway=rng.random() < 0.5,
            prompt_in_stream=rng.random() < 0.5,
        )
        for i in range(200)
    ]


async def one(harness: Harness, shape: Shape, rng: random.Random) -> Outcome:
    request = AdmissionRequest(key(org_budget=BUDGET), MODEL, ESTIMATE, 200)
    try:
        admission = await harness.gatekeeper.admit(request)
    except QuotaExceeded:
        return Outcome(admitted=False)
    grant = admission.max_tokens or 200
    prompt = ESTIMATE + shape.underestimate
    await asyncio.sleep(rng.random() / 200)  # the upstream thinks
    if shape.streamed:
        completion, after_last_pass = await relay(harness, admission, shape, prompt, grant)
    else:
        completion, after_last_pass = rng.randint(grant // 2, grant), 0
    cost = cost_micro_usd(MODEL.pricing, prompt, completion)
    await harness.gatekeeper.settle(admission, Settlement(prompt, completion, cost))
    term = -(-(shape.underestimate * 1_000_000 + after_last_pass * 2_000_000) // 1_000_000)
    return Outcome(admitted=True, cost=cost, bound=term)


async def relay(
    harness: Harness, admission: object, shape: Shape, prompt: int, grant: int
) -> tuple[int, int]:
    """A stream relay as the router runs it: check after every chunk, stop on False."""
    from aistrale_router.admission import Admission

    assert isinstance(admission, Admission)
    target = grant + 60 if shape.runaway else grant
    produced = passed = 0
    while produced < target:
        produced = (
            min(produced + shape.chunk, target) if not shape.runaway else produced + shape.chunk
        )
        await asyncio.sleep(0)
        known = prompt if shape.prompt_in_stream else ESTIMATE
        if not await harness.gatekeeper.check_stream(admission, known, produced):
            break
        passed = produced
    return produced, produced - passed


async def test_concurrent_requests_never_spend_past_the_stated_bound(harness: Harness) -> None:
    rng = random.Random(7)
    outcomes = await asyncio.gather(*(one(harness, s, rng) for s in shapes(11)))
    admitted = [o for o in outcomes if o.admitted]
    spent_key = f"{scope_key(f'{harness.prefix}{{o1}}:', 'org', 'o1')}:s:d20261118"
    spent = await harness.read(spent_key)
    assert spent == sum(o.cost for o in admitted)  # every settlement counted once
    assert spent <= BUDGET + sum(o.bound for o in admitted)
    assert len(admitted) >= 10
    assert len(outcomes) - len(admitted) >= 150  # the rest: insufficient_quota


async def test_with_exact_estimates_the_budget_is_never_passed(harness: Harness) -> None:
    rng = random.Random(3)
    exact = [Shape(s.streamed, 0, s.chunk, s.runaway, s.prompt_in_stream) for s in shapes(5)]
    outcomes = await asyncio.gather(*(one(harness, s, rng) for s in exact))
    admitted = [o for o in outcomes if o.admitted]
    spent_key = f"{scope_key(f'{harness.prefix}{{o1}}:', 'org', 'o1')}:s:d20261118"
    assert await harness.read(spent_key) <= BUDGET + sum(o.bound for o in admitted)
    # Only runaway streams can pass a hold, each by less than one chunk (5 tokens x 2).
    assert await harness.read(spent_key) <= BUDGET + 10 * sum(o.bound > 0 for o in admitted)
