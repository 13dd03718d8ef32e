"""The whole platform under sustained load, as `make up` runs it (docs/soak.md).

A burst, a pause longer than a lease's life, then sustained load, over several orgs whose
keys carry budgets, RPM/TPM limits, a zero-priced model and no limits at all. Then:
no 5xx; analytics counts every answered request, and exactly the 2xx the clients saw;
spend per org is the same in analytics, in Redis and in the clients' own sum of the usage
they were sent; the consumers catch up within 10 s; memory stays flat.

`AISTRALE_SOAK_S` sets the length (60 s in `make test`, 600 s in `make soak`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from aistrale_common.settings import tooling_variable
from aistrale_testkit.fixtures import Infra

from .checks import (
    MemorySamples,
    counted_by_analytics,
    drained,
    held,
    metric,
    redis_spend,
    router_metrics,
)
from .load import Load, Phase
from .platform import Platform, Timers, platform
from .tenants import Admin, provision

SOAK_S = float(tooling_variable("AISTRALE_SOAK_S", "60"))
# Past a minute, the design's own timers (leases live 60 s, key cache 30 s).
TIMERS = Timers() if SOAK_S < 300 else Timers(60.0, 10.0, 30.0, 600, 300.0)


def phases(total_s: float, timers: Timers) -> tuple[list[Phase], list[Phase]]:
    """(warm-up, the rest): a burst, a pause longer than a lease's life, then sustained
    load, of which the first third still counts as warm-up (memory is measured after it)."""
    burst = Phase(max(5.0, total_s * 0.1), 32)
    pause = Phase(timers.lease_ttl_s + timers.lease_idle_s + 1, 0)
    sustained = total_s - burst.seconds - pause.seconds
    return [burst, pause, Phase(sustained / 3, 12)], [Phase(sustained * 2 / 3, 12)]


@pytest.fixture(scope="module")
def soak(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with platform(infra, tmp_path_factory.mktemp("soak"), TIMERS) as running:
        yield running


@pytest.mark.timeout(SOAK_S + 240)
async def test_the_platform_under_sustained_load(soak: Platform, infra: Infra) -> None:
    admin = Admin(soak.userorg.url, soak.admin_email, soak.admin_password)
    keys = provision(admin, soak.run)
    load = Load(soak.router.url, keys)
    warm_up, rest = phases(SOAK_S, TIMERS)
    await load.run(warm_up)
    memory = MemorySamples(soak)
    sampling = asyncio.create_task(memory.run())
    record = await load.run(rest)
    # Stopped with the load: draining a backlog afterwards (a loaded machine's consumers fall
    # behind) raises a high-water mark once, and the checks' first analytics queries
    # allocate once; neither is growth under load.
    sampling.cancel()
    lag_s = await drained(infra.amqp_url, soak, within_s=10)
    totals = counted_by_analytics(soak, admin, record, keys, within_s=10)
    codes = record.by_code()
    print(f"\nsoak: {len(record.outcomes)} requests, {dict(codes)}, lag drained in {lag_s:.1f}s")

    assert not record.server_errors(), record.server_errors()[:5]
    assert codes["transport"] == 0
    # The scenario did what it is for: leases, budget refusals, rate limits.
    assert codes["insufficient_quota"] > 0 and codes["rate_limit_exceeded"] > 0
    assert metric(router_metrics(soak), "aistrale_api_router_admission_lease_admissions_total")
    for org_id, (seen, sent) in totals.items():
        assert seen.requests == sent.requests, (org_id, seen, sent)
        assert seen.successes == sent.ok, (org_id, seen, sent)
        assert seen.cost == sent.cost, (org_id, seen, sent)
        # The routers' own counter, without reconciliation's floor: settlements were exact.
        assert await redis_spend(infra.redis_url, soak, org_id) == seen.cost, org_id
    await asyncio.sleep(TIMERS.lease_idle_s * 3)  # idle leases are given back
    for org_id in totals:
        assert await held(infra.redis_url, soak, org_id) == 0, org_id
    assert not memory.growing(), memory.growing()
