"""The queue's RPM wait and its bounds, in process (the concurrency wait runs through a real
router in test_queue.py)."""

from __future__ import annotations

import asyncio

import pytest

from aistrale_common.errors import QuotaExceeded, RateLimited
from aistrale_router.catalog.schema import Deployment, ModelEntry
from aistrale_router.queueing import QueueGate
from aistrale_router.routing.attempt import Attempt
from aistrale_router.routing.picker import Target
from aistrale_router.routing.state import DeploymentStates


class Window:
    """An admission refused for RPM `refusals` times, with this Retry-After, then granted."""

    def __init__(self, refusals: int, retry_after: str) -> None:
        self.refusals = refusals
        self.retry_after = retry_after
        self.calls = 0

    async def admit(self) -> str:
        self.calls += 1
        if self.calls <= self.refusals:
            raise RateLimited("Rate limit reached", headers={"Retry-After": self.retry_after})
        return "admitted"


def gate(max_depth: int = 4) -> tuple[QueueGate, DeploymentStates]:
    states = DeploymentStates(failures=5, open_s=10)
    return QueueGate(states, max_depth), states


def target(cap: int) -> Target:
    deployment = Deployment(
        provider="vllm", base_url="http://127.0.0.1:1/v1", model="m", max_concurrency=cap
    )
    return Target(ModelEntry(name="m", deployments=[deployment]), deployment, None)


async def test_a_key_at_its_rpm_waits_for_the_window_and_is_admitted() -> None:
    queue, _ = gate()
    window = Window(refusals=2, retry_after="0.05")
    assert await queue.retry_rate_limited(window.admit, wait_s=2) == "admitted"
    assert window.calls == 3


async def test_a_window_further_than_the_wait_is_the_429_at_once() -> None:
    queue, _ = gate()
    window = Window(refusals=1, retry_after="30")
    with pytest.raises(RateLimited):
        await queue.retry_rate_limited(window.admit, wait_s=1)
    assert window.calls == 1


async def test_without_a_wait_the_429_is_as_before_and_budget_refusals_never_wait() -> None:
    queue, _ = gate()
    window = Window(refusals=1, retry_after="0.01")
    with pytest.raises(RateLimited):
        await queue.retry_rate_limited(window.admit, wait_s=0)

    async def broke() -> str:
        raise QuotaExceeded("The budget is spent.")

    with pytest.raises(QuotaExceeded):
        await queue.retry_rate_limited(broke, wait_s=5)


async def test_the_depth_bounds_rpm_and_concurrency_waiters_together() -> None:
    queue, states = gate(max_depth=1)
    busy = target(cap=1)
    slot = Attempt(states, busy.deployment.id)  # the deployment's one slot taken
    waiting = asyncio.create_task(queue.room([busy], wait_s=5))
    await asyncio.sleep(0.01)
    window = Window(refusals=1, retry_after="0.01")
    with pytest.raises(RateLimited) as full:
        await queue.retry_rate_limited(window.admit, wait_s=5)
    assert full.value.instance_code == "queue_full"
    slot.close(True)  # the slot frees: the waiter gets it
    assert await waiting == [busy]


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    queue, states = gate(max_depth=1)
    busy = target(cap=1)
    Attempt(states, busy.deployment.id)
    waiting = asyncio.create_task(queue.room([busy], wait_s=5))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    second = asyncio.create_task(queue.room([busy], wait_s=0.05))  # the place is free again
    with pytest.raises(RateLimited) as timed_out:
        await second
    assert timed_out.value.instance_code == "rate_limit_exceeded"
