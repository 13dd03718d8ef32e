"""One contract, two adapters: the in-process bus must behave exactly like RabbitMQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aistrale_common.events import (
    EventBus,
    MemoryEventBus,
    Message,
    OutgoingMessage,
    RabbitEventBus,
    Subscription,
)
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.rabbit import delete_queues

WAIT_S = 10.0


@pytest.fixture(params=["memory", "rabbitmq"])
async def bus(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[EventBus]:
    adapter: EventBus = (
        MemoryEventBus(drain_s=0.5)
        if request.param == "memory"
        else await RabbitEventBus.connect(infra.amqp_url)
    )
    yield adapter
    await adapter.close()


@pytest.fixture
async def names(infra: Infra, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    test = request.node.name.replace("[", ".").replace("]", "")
    made = {"exchange": infra.name(f"{test}.ex"), "queue": infra.name(f"{test}.q")}
    yield made
    await delete_queues(infra.amqp_url, made["queue"], f"{made['queue']}.dead")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.changed = asyncio.Event()

    async def handler(self, message: Message) -> None:
        self.messages.append(message)
        self.changed.set()

    async def wait_for(self, count: int) -> list[Message]:
        async with asyncio.timeout(WAIT_S):
            while len(self.messages) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.messages


def msg(key: str, body: bytes = b"{}", message_id: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(routing_key=key, body=body, message_id=message_id)


async def test_topic_bindings_route_by_pattern(bus: EventBus, names: dict[str, str]) -> None:
    inbox = Inbox()
    sub = Subscription(names["exchange"], ("usage.v1.*",), names["queue"])
    await bus.subscribe(sub, inbox.handler)
    await bus.publish(names["exchange"], msg("usage.v1.org1", b"1", "m1"))
    await bus.publish(names["exchange"], msg("other.v1.org1", b"2"))
    await bus.publish(names["exchange"], msg("usage.v1.org2", b"3", "m3"))
    got = await inbox.wait_for(2)
    await asyncio.sleep(0.2)
    assert [m.body for m in got] == [b"1", b"3"]
    assert got[0].message_id == "m1" and got[0].routing_key == "usage.v1.org1"
    assert got[0].delivery_count == 1


async def test_exclusive_queues_each_see_every_event(bus: EventBus, names: dict[str, str]) -> None:
    first, second = Inbox(), Inbox()
    for inbox in (first, second):
        await bus.subscribe(Subscription(names["exchange"], ("#",)), inbox.handler)
    await bus.publish(names["exchange"], msg("key.revoked"))
    await first.wait_for(1)
    await second.wait_for(1)


async def test_durable_queue_keeps_messages_until_a_consumer_comes(
    bus: EventBus, names: dict[str, str]
) -> None:
    sub = Subscription(names["exchange"], ("usage.#",), names["queue"])
    await bus.declare(sub)
    await bus.publish_batch(
        names["exchange"], [msg("usage.v1.o", str(i).encode()) for i in range(20)]
    )
    async with asyncio.timeout(WAIT_S):
        while await bus.queue_depth(names["queue"]) < 20:
            await asyncio.sleep(0.05)
    inbox = Inbox()
    await bus.subscribe(sub, inbox.handler)
    got = await inbox.wait_for(20)
    assert sorted(int(m.body) for m in got) == list(range(20))


async def test_failing_handler_retries_then_dead_letters(
    bus: EventBus, names: dict[str, str]
) -> None:
    attempts: list[int] = []
    done = asyncio.Event()

    async def poison(message: Message) -> None:
        attempts.append(message.delivery_count)
        if len(attempts) == 3:
            done.set()
        raise ValueError("cannot handle this")

    sub = Subscription(names["exchange"], ("#",), names["queue"], max_deliveries=3)
    await bus.subscribe(sub, poison)
    await bus.publish(names["exchange"], msg("usage.v1.o", b"poison"))
    async with asyncio.timeout(WAIT_S):
        await done.wait()
        dead = sub.dead_letter_queue()
        assert dead is not None
        while await bus.queue_depth(dead) < 1:
            await asyncio.sleep(0.05)
    assert attempts == [1, 2, 3]


async def test_competing_consumers_share_a_durable_queue(
    bus: EventBus, names: dict[str, str]
) -> None:
    first, second = Inbox(), Inbox()
    sub = Subscription(names["exchange"], ("#",), names["queue"], prefetch=1)
    await bus.subscribe(sub, first.handler)
    await bus.subscribe(sub, second.handler)
    await bus.publish_batch(names["exchange"], [msg("a", str(i).encode()) for i in range(10)])
    async with asyncio.timeout(WAIT_S):
        while len(first.messages) + len(second.messages) < 10:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    bodies = sorted(int(m.body) for m in first.messages + second.messages)
    assert bodies == list(range(10))


async def test_deliveries_run_concurrently_up_to_the_prefetch(
    bus: EventBus, names: dict[str, str]
) -> None:
    """Group-committing consumers rely on it: what is in flight is what one batch holds."""
    running, peak, handled = 0, 0, 0
    release = asyncio.Event()

    async def hold(_: Message) -> None:
        nonlocal running, peak, handled
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        handled += 1

    sub = Subscription(names["exchange"], ("#",), names["queue"], prefetch=5)
    await bus.declare(sub)
    await bus.publish_batch(names["exchange"], [msg("a", str(i).encode()) for i in range(20)])
    consumer = await bus.subscribe(sub, hold)
    async with asyncio.timeout(WAIT_S):
        while peak < 5:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # no sixth delivery while five are unacknowledged
    assert (peak, handled) == (5, 0)
    release.set()
    async with asyncio.timeout(WAIT_S):
        while handled < 20:
            await asyncio.sleep(0.01)
    assert peak == 5
    await consumer.stop()


async def test_stopping_a_consumer_puts_back_what_it_was_handling(
    bus: EventBus, names: dict[str, str]
) -> None:
    started = asyncio.Event()

    async def never_done(_: Message) -> None:
        started.set()
        await asyncio.Event().wait()

    sub = Subscription(names["exchange"], ("#",), names["queue"], prefetch=3)
    await bus.declare(sub)
    await bus.publish_batch(names["exchange"], [msg("a", str(i).encode()) for i in range(10)])
    consumer = await bus.subscribe(sub, never_done)
    async with asyncio.timeout(WAIT_S):
        await started.wait()
    await consumer.stop()
    inbox = Inbox()
    await bus.subscribe(sub, inbox.handler)
    got = await inbox.wait_for(10)
    assert sorted(int(m.body) for m in got) == list(range(10))


async def test_ping_answers(bus: EventBus) -> None:
    await bus.ping()


async def test_a_stopping_in_process_consumer_first_delivers_what_is_queued() -> None:
    """Nothing outlives the process: what RabbitMQ would keep for the next consumer, the
    in-process bus delivers before its consumer stops (make run's analytics at shutdown)."""
    bus = MemoryEventBus()
    handled: list[bytes] = []

    async def slow(message: Message) -> None:
        await asyncio.sleep(0.001)
        handled.append(message.body)

    sub = Subscription("usage", ("#",), "analytics.usage", prefetch=8)
    consumer = await bus.subscribe(sub, slow)
    await bus.publish_batch("usage", [msg("usage.v1.o", str(i).encode()) for i in range(200)])
    await consumer.stop()
    assert sorted(int(b) for b in handled) == list(range(200))
    await bus.close()
