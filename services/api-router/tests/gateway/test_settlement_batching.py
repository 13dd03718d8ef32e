"""Settlements wait a moment and go together; shutdown (drain) settles what waits."""

from __future__ import annotations

import asyncio

from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.admission.factory import LocalGatekeeper
from aistrale_router.admission.gatekeeper import AdmissionConfig
from aistrale_router.admission.metrics import AdmissionMetrics
from aistrale_router.admission.port import AdmissionRequest
from aistrale_router.gateway.metering import SETTLE_AFTER_S, Meter, Metering, Tokens
from aistrale_router.gateway.request import parse_request
from aistrale_router.routing.picker import Target
from aistrale_testkit.router.admission import FakeClock, key, model


class Collected:
    def __init__(self) -> None:
        self.events: list[UsageEventV1] = []

    def submit(self, event: UsageEventV1) -> None:
        self.events.append(event)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def _gatekeeper() -> LocalGatekeeper:
    metrics = AdmissionMetrics(ServiceMetrics("t"), "fail_closed")
    return LocalGatekeeper(AdmissionConfig(prefix="t:"), FakeClock(), metrics)


async def _finish_one(metering: Metering, gatekeeper: LocalGatekeeper) -> Meter:
    record = key(org_budget=10**6)
    request = parse_request(b'{"model": "m", "prompt": "hi", "max_tokens": 4}', "completions")
    meter = Meter(record, request, "rid", 0.0)
    meter.admission = await gatekeeper.admit(AdmissionRequest(record, model(), 2, 4))
    entry = model()
    meter.target = Target(entry, entry.deployments[0], None)
    metering.finish(meter, 200, None, Tokens(prompt=2, completion=4))
    return meter


async def _spent(gatekeeper: LocalGatekeeper, meter: Meter) -> int:
    assert meter.admission is not None and meter.admission.plan is not None
    plan = meter.admission.plan
    return await gatekeeper.store.read(plan.spend[0].key, plan.now_ms)


async def test_settlements_wait_briefly_then_settle_together() -> None:
    gatekeeper, sink = _gatekeeper(), Collected()
    metering = Metering(sink, gatekeeper)
    meters = [await _finish_one(metering, gatekeeper) for _ in range(3)]
    assert len(sink.events) == 3  # usage events are not delayed
    assert await _spent(gatekeeper, meters[0]) == 0  # settlements wait a moment
    await asyncio.sleep(SETTLE_AFTER_S * 3)
    await metering.drain()
    cost = sink.events[0].cost_micro_usd
    assert cost > 0
    assert await _spent(gatekeeper, meters[0]) == 3 * cost


async def test_drain_settles_what_is_still_waiting() -> None:
    gatekeeper, sink = _gatekeeper(), Collected()
    metering = Metering(sink, gatekeeper)
    meter = await _finish_one(metering, gatekeeper)
    await metering.drain()  # at once, without waiting for the timer
    assert await _spent(gatekeeper, meter) == sink.events[0].cost_micro_usd
