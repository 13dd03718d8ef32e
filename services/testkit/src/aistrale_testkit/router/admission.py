"""Test helpers for admission (used by its tests and by the router's end-to-end tests)."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from aistrale_router.admission.gatekeeper import StoreGatekeeper
from aistrale_router.catalog.schema import Deployment, ModelEntry, Pricing
from aistrale_router.keys.record import BudgetRule, KeyRecord, Period

START = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC, mid-month, 20 s before a minute ends


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    gatekeeper: StoreGatekeeper
    clock: FakeClock
    prefix: str

    async def read(self, key: str) -> int:
        return await self.gatekeeper.store.read(key, int(self.clock.now * 1000))


def model(
    price_in: int = 1_000_000, price_out: int = 2_000_000, max_output: int = 200
) -> ModelEntry:
    """1 and 2 micro-USD per token by default: costs are easy to count in tests."""
    return ModelEntry(
        name="m",
        deployments=[Deployment(provider="vllm", base_url="http://127.0.0.1:1/v1", model="m")],
        pricing=Pricing(input_micro_usd_per_mtok=price_in, output_micro_usd_per_mtok=price_out),
        max_output_tokens=max_output,
    )


def key(
    *,
    key_id: str = "k1",
    org_budget: int | None = None,
    key_budget: int | None = None,
    period: Period = "day",
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    org_rpm_limit: int | None = None,
    org_tpm_limit: int | None = None,
) -> KeyRecord:
    budgets = []
    if org_budget is not None:
        budgets.append(
            BudgetRule(scope="org", scope_id="o1", limit_micro_usd=org_budget, period=period)
        )
    if key_budget is not None:
        budgets.append(
            BudgetRule(scope="key", scope_id=key_id, limit_micro_usd=key_budget, period=period)
        )
    return KeyRecord(
        key_id=key_id,
        org_id="o1",
        status="active",
        budgets=budgets,
        rpm_limit=rpm_limit,
        tpm_limit=tpm_limit,
        org_rpm_limit=org_rpm_limit,
        org_tpm_limit=org_tpm_limit,
    )


async def drop_keys(url: str, prefix: str) -> None:
    """Deletes a test's Redis keys (spend counters of `total` budgets never expire)."""
    client: aioredis.Redis = aioredis.from_url(url)
    try:
        async for name in client.scan_iter(match=f"{prefix}*", count=1000):
            await client.delete(name)
    finally:
        await client.aclose()
