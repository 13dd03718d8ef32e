"""The queue's order, in process: freed room goes to the highest priority, the oldest among
equals; and where a request's wait and priority come from (key/org, model, router)."""

from __future__ import annotations

import asyncio

from aistrale_router.keys.record import KeyRecord
from aistrale_router.queueing import QueueGate, QueuePlace, queue_place
from aistrale_router.routing.attempt import Attempt
from aistrale_router.routing.picker import Target
from aistrale_router.routing.state import DeploymentStates

from .test_gate import target


class Served:
    """Waiters that, once given room, take the slot at once (as the router's attempt does,
    with nothing awaited in between) and note the order they were served in."""

    def __init__(self, queue: QueueGate, states: DeploymentStates, busy: Target) -> None:
        self.queue, self.states, self.busy = queue, states, busy
        self.order: list[str] = []
        self.slots: list[Attempt] = []

    async def wait(self, name: str, priority: int) -> None:
        await self.queue.room([self.busy], wait_s=5, priority=priority)
        self.slots.append(Attempt(self.states, self.busy.deployment.id))
        self.order.append(name)

    def queued(self, name: str, priority: int) -> asyncio.Task[None]:
        return asyncio.create_task(self.wait(name, priority))

    async def free_one(self, served: int) -> None:
        """Ends the oldest attempt in flight and waits until `served` waiters have run."""
        self.slots.pop(0).close(True)
        async with asyncio.timeout(5):
            while len(self.order) < served:
                await asyncio.sleep(0.005)


def setup() -> Served:
    states = DeploymentStates(failures=5, open_s=10)
    queue, busy = QueueGate(states, max_depth=8), target(cap=1)
    served = Served(queue, states, busy)
    served.slots.append(Attempt(states, busy.deployment.id))  # the one slot is taken
    return served


async def test_a_higher_priority_waiter_queued_later_is_served_first() -> None:
    served = setup()
    tasks = [served.queued("low", 0)]
    await asyncio.sleep(0.01)
    tasks.append(served.queued("high", 9))
    await asyncio.sleep(0.01)
    tasks.append(served.queued("mid", 4))
    await asyncio.sleep(0.01)
    for count in (1, 2, 3):
        await served.free_one(count)
        await asyncio.sleep(0.01)  # nobody else slips in while the slot is held
        assert len(served.order) == count
    await asyncio.gather(*tasks)
    assert served.order == ["high", "mid", "low"]


async def test_equal_priorities_are_first_come_first_served_across_wake_ups() -> None:
    served = setup()
    tasks = []
    for name in ("first", "second", "third"):
        tasks.append(served.queued(name, 3))
        await asyncio.sleep(0.01)
    for count in (1, 2, 3):
        await served.free_one(count)
    await asyncio.gather(*tasks)
    assert served.order == ["first", "second", "third"]


async def test_a_cancelled_high_priority_waiter_does_not_hold_up_the_others() -> None:
    served = setup()
    low = served.queued("low", 0)
    await asyncio.sleep(0.01)
    high = served.queued("high", 9)
    await asyncio.sleep(0.01)
    high.cancel()
    await asyncio.sleep(0.01)
    await served.free_one(1)
    await low
    assert served.order == ["low"] and high.cancelled()


def test_the_wait_is_the_keys_else_the_models_else_the_routers() -> None:
    def key(**queue: object) -> KeyRecord:
        return KeyRecord.model_validate({"key_id": "k", "org_id": "o", "status": "active", **queue})

    default = target(cap=1).model
    patient = default.model_copy(update={"queue_wait_s": 3.0})
    assert queue_place(key(), default, 1.5) == QueuePlace(1.5, 0)
    assert queue_place(key(), patient, 1.5) == QueuePlace(3, 0)
    assert queue_place(key(queue_wait_s=0), patient, 1.5) == QueuePlace(0, 0)
    assert queue_place(key(queue_wait_s=8, queue_priority=6), patient, 0) == QueuePlace(8, 6)
