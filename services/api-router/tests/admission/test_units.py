"""Periods, headers and money: the pure parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aistrale_common.budget_periods import period_label, period_reset_s
from aistrale_router.admission.gatekeeper import AdmissionConfig, StoreGatekeeper
from aistrale_router.admission.headers import duration
from aistrale_router.admission.memory import MemoryStore
from aistrale_router.admission.plan import Plan
from aistrale_router.admission.port import AdmissionRequest, Settlement
from aistrale_router.admission.pricing import cost_micro_usd, request_cost
from aistrale_router.admission.verdict import Verdict
from aistrale_router.catalog.schema import Pricing
from aistrale_testkit.router.admission import FakeClock, key, model


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("moment", "period", "label", "reset"),
    [
        ("2026-11-18T23:59:59", "day", "d20261118", 1.0),
        ("2026-11-19T00:00:00", "day", "d20261119", 86_400.0),
        ("2026-12-31T12:00:00", "month", "m202612", 12 * 3600.0),
        ("2028-02-28T00:00:00", "month", "m202802", 2 * 86_400.0),  # leap year
        ("2026-11-18T10:00:00", "total", "t", None),
    ],
)
def test_periods_roll_over_at_utc_boundaries(
    moment: str, period: str, label: str, reset: float | None
) -> None:
    assert period_label(period, at(moment)) == label  # type: ignore[arg-type]
    assert period_reset_s(period, at(moment)) == reset  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.02, "20ms"), (0.0001, "1ms"), (1.0, "1s"), (17.2, "18s"), (360, "6m0s")],
)
def test_reset_durations_read_like_openai(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_cost_rounds_up_to_the_micro_usd_and_free_is_free() -> None:
    pricing = Pricing(input_micro_usd_per_mtok=150_000, output_micro_usd_per_mtok=600_000)
    assert cost_micro_usd(pricing, 1, 0) == 1  # 0.15 micro-USD rounds up
    assert cost_micro_usd(pricing, 1_000_000, 1_000_000) == 750_000
    assert cost_micro_usd(None, 10**6, 10**6) == 0
    assert request_cost(3, 7, 0, 0) == 0


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.admits = 0

    async def admit(self, plan: Plan, rid: str) -> Verdict:
        self.admits += 1
        return await super().admit(plan, rid)


async def test_a_key_without_limits_or_budgets_is_admitted_without_a_store_round_trip() -> None:
    store = CountingStore()
    gatekeeper = StoreGatekeeper(store, AdmissionConfig(prefix="t:"), FakeClock(), shared=True)
    request = AdmissionRequest(key(), model(), 10, None)
    admission = await gatekeeper.admit(request)
    assert store.admits == 0
    assert admission.max_tokens == 200  # the model's max_output_tokens: always bounded
    await gatekeeper.settle(admission, Settlement(10, 5, 20))
    plan = admission.plan
    assert plan is not None
    spent = await store.read(plan.spend[0].key, plan.now_ms)
    assert spent == 20  # spend is still counted for a key with no budget
    limited = AdmissionRequest(key(rpm_limit=5), model(), 10, None)
    await gatekeeper.admit(limited)
    assert store.admits == 1
