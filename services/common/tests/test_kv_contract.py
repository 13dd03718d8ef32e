"""Both key-value adapters keep the same promises: expiry, set-if-absent, fixed windows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from aistrale_common.auth.admin_token import AdminClaims
from aistrale_common.auth.sessions import Revocations, now_ms
from aistrale_common.errors import ServiceUnavailable
from aistrale_common.kv import KeyValue, MemoryKV, open_kv
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import TcpProxy


@pytest.fixture(params=["redis", "memory"])
async def kv(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[KeyValue]:
    if request.param == "memory":
        store: KeyValue = MemoryKV()
    else:
        store = open_kv(infra.redis_url, f"{infra.redis_prefix}kv:{uuid.uuid4().hex}:")
    yield store
    await store.close()


async def test_values_expire(kv: KeyValue) -> None:
    await kv.set("a", "1", 0.2)
    assert await kv.get_many(["a", "missing"]) == ["1", None]
    await asyncio.sleep(0.3)
    assert await kv.get_many(["a"]) == [None]


async def test_add_sets_only_when_absent(kv: KeyValue) -> None:
    assert await kv.add("nonce", "x", 5) is True
    assert await kv.add("nonce", "y", 5) is False
    assert await kv.get_many(["nonce"]) == ["x"]


async def test_incr_counts_in_a_fixed_window(kv: KeyValue) -> None:
    assert (await kv.incr("w", 0.3))[0] == 1
    count, left = await kv.incr("w", 0.3)
    assert count == 2 and 0 < left <= 0.3
    await asyncio.sleep(0.4)
    assert (await kv.incr("w", 0.3))[0] == 1


async def test_revocations_end_one_session_or_every_earlier_token(kv: KeyValue) -> None:
    revocations = Revocations(kv)
    early = AdminClaims(sub="u1", sid="s1", issued_ms=now_ms())
    other = AdminClaims(sub="u1", sid="s2", issued_ms=now_ms())
    await revocations.revoke_session("s1", 5)
    assert await revocations.is_revoked(early)
    assert not await revocations.is_revoked(other)
    await asyncio.sleep(0.01)
    await revocations.revoke_user("u1", 5)
    later = AdminClaims(sub="u1", sid="s3", issued_ms=now_ms() + 1)
    assert await revocations.is_revoked(other)
    assert not await revocations.is_revoked(later)
    assert not await revocations.is_revoked(AdminClaims(sub="u2", sid="s2", issued_ms=1))


async def test_redis_away_is_a_503_not_a_500(infra: Infra) -> None:
    host, port = infra.redis_url.removeprefix("redis://").split("/")[0].split(":")
    proxy = TcpProxy(host, int(port)).start()
    store = open_kv(f"redis://127.0.0.1:{proxy.port}/0", f"{infra.redis_prefix}kv-away:")
    try:
        await store.set("a", "1", 5)
        proxy.cut()
        for call in (store.get_many(["a"]), store.add("b", "1", 5), store.incr("c", 5)):
            with pytest.raises(ServiceUnavailable):
                await call
    finally:
        proxy.stop()
        await store.close()


async def test_redis_answers_at_once_when_it_comes_back(infra: Infra) -> None:
    """Pooled connections the outage killed are replaced on their next use: the first logins
    after Redis comes back are not refused (a soak's rabbitmq fault, after its redis one, got
    a 503 at sign-in)."""
    host, port = infra.redis_url.removeprefix("redis://").split("/")[0].split(":")
    proxy = TcpProxy(host, int(port)).start()
    store = open_kv(f"redis://127.0.0.1:{proxy.port}/0", f"{infra.redis_prefix}kv-back:")
    try:
        await asyncio.gather(*(store.set(f"k{i}", "1", 5) for i in range(4)))  # 4 pooled
        proxy.cut()
        proxy.restore()
        for _ in range(8):
            assert await store.get_many(["k0"]) == ["1"]
            assert (await store.incr("n", 5))[0] >= 1
    finally:
        proxy.stop()
        await store.close()
