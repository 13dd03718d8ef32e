"""The pipelined Redis client against the real Redis: order, errors, scripts, faults."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aistrale_common.resp import PipelinedRedis
from aistrale_common.resp.codec import INCOMPLETE, decode, encode
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import TcpProxy

SCRIPT = "return {KEYS[1], tonumber(ARGV[1]) + 1}"


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[PipelinedRedis]:
    client = PipelinedRedis(infra.redis_url, timeout_s=2.0)
    try:
        yield client
    finally:
        await client.close()


def _key(infra: Infra, name: str) -> str:
    return f"{infra.redis_prefix}resp:{name}:{random.getrandbits(32)}"


async def test_replies_of_every_type(redis: PipelinedRedis, infra: Infra) -> None:
    key = _key(infra, "types")
    assert await redis.call("PING") == "PONG"
    assert await redis.call("SET", key, "v", "EX", 60) == "OK"
    assert await redis.call("GET", key) == b"v"
    assert await redis.call("GET", key + ":absent") is None
    assert await redis.call("INCRBY", key + ":n", 5) == 5
    assert await redis.call("MGET", key, key + ":absent") == [b"v", None]
    await redis.call("DEL", key, key + ":n")


async def test_many_calls_in_flight_get_their_own_replies(
    redis: PipelinedRedis, infra: Infra
) -> None:
    key = _key(infra, "inflight")
    replies = await asyncio.gather(*(redis.call("INCR", key) for _ in range(2000)))
    assert sorted(replies) == list(range(1, 2001))
    echoes = await asyncio.gather(*(redis.call("ECHO", f"m{i}") for i in range(500)))
    assert echoes == [f"m{i}".encode() for i in range(500)]
    await redis.call("DEL", key)


async def test_an_error_reply_fails_its_call_only(redis: PipelinedRedis, infra: Infra) -> None:
    key = _key(infra, "err")
    await redis.call("SET", key, "not a number", "EX", 60)
    results = await asyncio.gather(
        redis.call("INCR", key), redis.call("ECHO", "after"), return_exceptions=True
    )
    assert isinstance(results[0], ResponseError)
    assert results[1] == b"after"
    await redis.call("DEL", key)


async def test_scripts_survive_a_script_flush(redis: PipelinedRedis, infra: Infra) -> None:
    sha = redis.script(SCRIPT)
    assert await redis.run_script(sha, ["k"], [41]) == [b"k", 42]
    await redis.call("SCRIPT", "FLUSH")  # as after a Redis restart
    assert await redis.run_script(sha, ["k"], [1]) == [b"k", 2]


async def test_a_cancelled_call_does_not_shift_the_replies(
    redis: PipelinedRedis, infra: Infra
) -> None:
    assert await redis.call("PING") == "PONG"  # connected: the next calls go straight out
    slow = asyncio.ensure_future(redis.call("ECHO", "first"))
    after = asyncio.ensure_future(redis.call("ECHO", "second"))
    await asyncio.sleep(0)  # both written and waiting for their replies
    slow.cancel()
    assert await after == b"second"
    assert await redis.call("ECHO", "third") == b"third"


async def test_a_cut_connection_fails_the_call_and_the_next_reconnects(infra: Infra) -> None:
    host, port = infra.redis_url.split("//")[1].split("/")[0].split(":")
    proxy = TcpProxy(host, int(port)).start()
    client = PipelinedRedis(f"redis://127.0.0.1:{proxy.port}/0", timeout_s=1.0)
    try:
        assert await client.call("PING") == "PONG"
        proxy.cut()
        with pytest.raises((RedisConnectionError, RedisTimeoutError)):
            await client.call("PING")
        proxy.restore()
        assert await client.call("PING") == "PONG"
    finally:
        await client.close()
        proxy.stop()


async def test_a_silent_server_times_out_and_the_client_recovers() -> None:
    answered: list[int] = []

    async def blackhole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered.append(0)
        if len(answered) > 1:  # the second connection answers one PING
            await reader.read(100)
            writer.write(b"+PONG\r\n")
            await writer.drain()
        await reader.read(100)

    server = await asyncio.start_server(blackhole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = PipelinedRedis(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
    try:
        with pytest.raises(RedisTimeoutError):
            await client.call("PING")
        assert await client.call("PING") == "PONG"
    finally:
        await client.close()
        server.close()


async def test_unreachable_redis_is_a_connection_error() -> None:
    from aistrale_testkit.tcp_proxy import free_port

    client = PipelinedRedis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)
    with pytest.raises(RedisConnectionError):
        await client.call("PING")


@given(
    st.lists(
        st.one_of(
            st.integers(-(2**62), 2**62),
            st.binary(max_size=40),
            st.none(),
            st.lists(st.one_of(st.integers(0, 99), st.binary(max_size=8)), max_size=4),
        ),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_replies_decode_the_same_however_the_bytes_are_split(
    values: list[object], data: st.DataObject
) -> None:
    wire = b"".join(_reply(v) for v in values)
    cut = data.draw(st.integers(0, len(wire)))
    buf, pos = bytearray(wire[:cut]), 0
    decoded: list[object] = []
    for chunk in (b"", wire[cut:]):
        buf += chunk
        while len(decoded) < len(values):
            value, after = decode(buf, pos)
            if value is INCOMPLETE:
                break
            decoded.append(value)
            pos = after
    assert decoded == values


def _reply(value: object) -> bytes:
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    assert isinstance(value, list)
    return b"*%d\r\n" % len(value) + b"".join(_reply(v) for v in value)


def test_commands_encode_as_resp_arrays() -> None:
    assert (
        encode(("SET", "k", 5, b"\x00"))
        == b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n5\r\n$1\r\n\x00\r\n"
    )


async def test_a_refused_handshake_is_an_error_not_a_half_open_connection(infra: Infra) -> None:
    url = infra.redis_url.replace("redis://", "redis://:not-the-password@", 1)
    client = PipelinedRedis(url, timeout_s=2.0)
    try:
        for _ in range(2):  # the second call tries a new connection, not a half-open one
            with pytest.raises(ResponseError):
                await client.call("PING")
    finally:
        await client.close()
