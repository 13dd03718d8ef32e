"""The lean AMQP publisher: frames checked against pamqp, behaviour against the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest
from pamqp import body as pamqp_body
from pamqp import commands, frame, header

from aistrale_common.events.amqp import LeanPublisher, PublishFailed
from aistrale_common.events.amqp import frames as f
from aistrale_common.events.port import OutgoingMessage
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import TcpProxy


def test_publish_frames_are_what_pamqp_reads() -> None:
    props = f.properties("id-1", {"kind": "usage", "n": 7, "ok": True})
    wire = f.publish_frames(1, 4096 + 8, f.shortstr("usage"), "usage.v1.org", b"x" * 10000, props)
    parsed = []
    while wire:
        used, channel, value = frame.unmarshal(wire)
        assert channel == 1
        parsed.append(value)
        wire = wire[used:]
    publish, content, *bodies = parsed
    assert isinstance(publish, commands.Basic.Publish)
    assert (publish.exchange, publish.routing_key) == ("usage", "usage.v1.org")
    assert not publish.mandatory
    assert isinstance(content, header.ContentHeader)
    assert content.body_size == 10000
    assert content.properties.content_type == "application/json"
    assert content.properties.delivery_mode == 2
    assert content.properties.message_id == "id-1"
    assert content.properties.headers == {"kind": "usage", "n": 7, "ok": True}
    sizes = [len(b.value) if isinstance(b, pamqp_body.ContentBody) else -1 for b in bodies]
    assert sizes == [4096, 4096, 1808]  # split at frame_max - 8


def test_unsupported_header_values_are_refused() -> None:
    with pytest.raises(TypeError):
        f.properties(None, {"when": object()})


@pytest.fixture
async def exchange(infra: Infra) -> AsyncIterator[tuple[str, aio_pika.abc.AbstractQueue]]:
    connection = await aio_pika.connect(infra.amqp_url)
    channel = await connection.channel()
    name = f"{infra.name('lean')}-{uuid.uuid4().hex[:6]}"
    declared = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(declared, "usage.v1.#")
    try:
        yield name, queue
    finally:
        await connection.close()


def _messages(count: int, size: int = 200) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(f"usage.v1.org{i % 3}", b"%d:" % i + b"p" * size, f"m{i}", {"i": i})
        for i in range(count)
    ]


async def _drain(
    queue: aio_pika.abc.AbstractQueue, count: int
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with asyncio.timeout(20), queue.iterator() as messages:
        async for message in messages:
            await message.ack()
            got.append(message)
            if len(got) == count:
                break
    return got


async def test_confirmed_batches_arrive_whole_and_in_order(
    infra: Infra, exchange: tuple[str, aio_pika.abc.AbstractQueue]
) -> None:
    name, queue = exchange
    publisher = LeanPublisher(infra.amqp_url)
    sent = _messages(2000)
    try:
        for start in range(0, len(sent), 250):
            await publisher.publish_batch(name, sent[start : start + 250])
        await publisher.publish_batch(
            name, [OutgoingMessage("usage.v1.big", b"b" * 300_000, "big")]
        )
    finally:
        await publisher.close()
    got = await _drain(queue, len(sent) + 1)
    assert [m.message_id for m in got[:-1]] == [m.message_id for m in sent]
    assert [m.body for m in got[:-1]] == [m.body for m in sent]
    assert got[5].routing_key == "usage.v1.org2"
    assert got[5].headers == {"i": 5}
    assert got[5].content_type == "application/json"
    assert got[5].delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert got[-1].body == b"b" * 300_000


async def test_a_refused_publish_fails_and_the_next_one_reconnects(
    infra: Infra, exchange: tuple[str, aio_pika.abc.AbstractQueue]
) -> None:
    name, queue = exchange
    publisher = LeanPublisher(infra.amqp_url)
    try:
        with pytest.raises(PublishFailed, match="404"):
            await publisher.publish_batch(f"{name}-missing", _messages(3))
        await publisher.publish_batch(name, _messages(3))
    finally:
        await publisher.close()
    assert len(await _drain(queue, 3)) == 3


async def test_a_cut_broker_fails_the_batch_and_a_restored_one_takes_the_next(
    infra: Infra, exchange: tuple[str, aio_pika.abc.AbstractQueue]
) -> None:
    name, queue = exchange
    host_port = infra.amqp_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port)).start()
    publisher = LeanPublisher(infra.amqp_url.replace(host_port, f"127.0.0.1:{proxy.port}"))
    try:
        await publisher.publish_batch(name, _messages(10))
        proxy.cut()
        with pytest.raises((PublishFailed, TimeoutError)):
            async with asyncio.timeout(3):
                await publisher.publish_batch(name, _messages(10))
        proxy.restore()
        await publisher.publish_batch(name, _messages(10))
    finally:
        await publisher.close()
        proxy.stop()
    assert len(await _drain(queue, 20)) >= 20  # the cut batch may or may not have landed


async def test_an_abandoned_wait_drops_the_connection_and_the_next_publish_works(
    infra: Infra, exchange: tuple[str, aio_pika.abc.AbstractQueue]
) -> None:
    name, queue = exchange
    publisher = LeanPublisher(infra.amqp_url)
    try:
        waiting = asyncio.ensure_future(publisher.publish_batch(name, _messages(500)))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await publisher.publish_batch(name, _messages(5))
    finally:
        await publisher.close()
    assert len(await _drain(queue, 5)) >= 5


async def test_an_unreachable_broker_is_a_publish_failure() -> None:
    from aistrale_testkit.tcp_proxy import free_port

    publisher = LeanPublisher(f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    with pytest.raises(PublishFailed):
        await publisher.publish_batch("x", _messages(1))


async def test_wrong_credentials_are_a_publish_failure(infra: Infra) -> None:
    parts = urlsplit(infra.amqp_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    url = urlunsplit(parts._replace(netloc=f"{parts.username or 'guest'}:not-the-password@{host}"))
    publisher = LeanPublisher(url)
    for _ in range(2):
        with pytest.raises(PublishFailed):
            await publisher.publish_batch("x", _messages(1))
    await publisher.close()
