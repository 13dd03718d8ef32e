"""The soak's faults, one at a time, each under load on the same platform (its own orgs and
keys per fault): only the declared policy's errors while it lasts, recovery within 2 s, no
usage event lost, spend exact."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from aistrale_testkit.fixtures import Infra

from .checks import counted_by_analytics, drained, redis_spend
from .faults import FAULTS, SHUTDOWN_GRACE_S, under_load, unexpected
from .platform import Platform, Timers, platform
from .tenants import Admin, provision

TIMERS = Timers()


@pytest.fixture(scope="module")
def faulty(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    extra = {"AISTRALE_SHUTDOWN_GRACE_S": str(SHUTDOWN_GRACE_S)}
    with platform(infra, tmp_path_factory.mktemp("soak-faults"), TIMERS, extra) as running:
        yield running


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", list(FAULTS))
async def test_one_fault_under_load(faulty: Platform, infra: Infra, name: str) -> None:
    fault = FAULTS[name]
    admin = Admin(faulty.userorg.url, faulty.admin_email, faulty.admin_password)
    keys = provision(admin, f"{faulty.run}-{name}")
    record, window = await under_load(faulty, keys, fault)
    codes = record.by_code()
    print(f"\n{name}: {len(record.outcomes)} requests, {dict(codes)}")

    wrong = unexpected(record, window, fault)
    assert not wrong, (len(wrong), wrong[:3])
    if fault.long_streams:  # drained within the grace, or ended explicitly past it
        fits, outlives = record.long_streams
        assert (fits.code, outlives.code) == ("ok", "stream_error:server_shutting_down")
    await drained(infra.amqp_url, faulty, within_s=30)
    # A killed router's lost settlements come back through reconciliation's floor, once the
    # ledger has every event.
    await asyncio.sleep(2 * TIMERS.reconcile_s + 1 if name == "router_killed" else 0)
    totals = counted_by_analytics(faulty, admin, record, keys, within_s=10)
    for org_id, (seen, sent) in totals.items():
        # No usage event lost. A request the client saw cut by a kill may have been
        # metered as answered just before: it counts as a success, or not at all.
        cut = sum(o.code == "transport" for o in record.per_org(org_id))
        assert sent.ok <= seen.successes <= sent.ok + cut, (org_id, seen, sent, cut)
        assert seen.cost >= sent.cost, (org_id, seen, sent)
        spent = await redis_spend(infra.redis_url, faulty, org_id, effective=True)
        assert spent == seen.cost, (org_id, spent, seen)
