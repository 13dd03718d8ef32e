"""The answer cache over both kv adapters: kept answers, expiry, and a store that is away."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from aistrale_common.kv import KeyValue, MemoryKV, open_kv
from aistrale_router.answer_cache import AnswerCache, CachedAnswer, answer_key
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.tcp_proxy import TcpProxy

BODY = b'{"id":"chatcmpl-1","object":"chat.completion"}'
KIND = "application/json"


@pytest.fixture(params=["redis", "memory"])
async def kv(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[KeyValue]:
    if request.param == "memory":
        store: KeyValue = MemoryKV()
    else:
        store = open_kv(infra.redis_url, f"{infra.redis_prefix}answers:{uuid.uuid4().hex}:")
    yield store
    await store.close()


def cache(kv: KeyValue, local_max_bytes: int = 0) -> AnswerCache:
    return AnswerCache(
        kv, timeout_s=1.0, retry_s=0.2, max_bytes=1024, local_max_bytes=local_max_bytes
    )


def kept(answer: CachedAnswer | None) -> tuple[bytes, str, int] | None:
    return None if answer is None else (answer.body, answer.content_type, answer.cost_micro_usd)


async def test_a_kept_answer_comes_back_until_its_ttl(kv: KeyValue) -> None:
    answers = cache(kv)
    assert await answers.get("answer:a") is None
    await answers.put("answer:a", BODY, KIND, 42, 0.3)
    assert kept(await answers.get("answer:a")) == (BODY, KIND, 42)
    await asyncio.sleep(0.4)
    assert await answers.get("answer:a") is None


async def test_the_local_level_serves_what_the_store_has_until_it_expires(kv: KeyValue) -> None:
    writer, reader = cache(kv, local_max_bytes=4096), cache(kv, local_max_bytes=4096)
    await writer.put("answer:l", BODY, KIND, 7, 0.4)
    assert kept(await reader.get("answer:l")) == (BODY, KIND, 7)  # from the store
    await kv.set("answer:l", "gone", 5)  # the store's copy damaged: only the local one is left
    assert kept(await reader.get("answer:l")) == (BODY, KIND, 7)
    await asyncio.sleep(0.5)  # past the expiry the store gave it
    assert await reader.get("answer:l") is None


async def test_the_local_level_drops_the_least_recently_used_past_its_size(kv: KeyValue) -> None:
    answers = cache(kv, local_max_bytes=len(BODY) * 2)
    for name in ("a", "b", "c"):
        await answers.put(f"answer:{name}", BODY, KIND, 1, 30)
    await kv.set("answer:a", "gone", 5)  # the store no longer has a: only a local copy could
    assert await answers.get("answer:a") is None  # dropped locally, the oldest
    assert kept(await answers.get("answer:c")) == (BODY, KIND, 1)


async def test_an_answer_past_the_size_limit_is_not_kept(kv: KeyValue) -> None:
    answers = cache(kv)
    await answers.put("answer:big", b"x" * 2048, KIND, 1, 5)
    assert await answers.get("answer:big") is None


async def test_a_damaged_entry_is_a_miss(kv: KeyValue) -> None:
    await kv.set("answer:bad", "not json", 5)
    await kv.set("answer:old", '{"b": 1}', 5)
    answers = cache(kv)
    assert await answers.get("answer:bad") is None
    assert await answers.get("answer:old") is None


def test_the_key_ignores_whitespace_key_order_and_delivery_fields() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    reordered = {"temperature": 0, "messages": [{"content": "hi", "role": "user"}], "model": "m"}
    streamed = {**body, "stream": False, "stream_options": {"include_usage": True}}
    key = answer_key("org_a", "chat", "m", body)
    assert key == answer_key("org_a", "chat", "m", reordered)
    assert key == answer_key("org_a", "chat", "m", streamed)
    assert key.startswith("answer:") and len(key) == len("answer:") + 64


def test_the_key_changes_with_org_endpoint_model_and_any_other_field() -> None:
    body = {"model": "m", "prompt": "hi"}
    key = answer_key("org_a", "completions", "m", body)
    assert key != answer_key("org_b", "completions", "m", body)
    assert key != answer_key("org_a", "chat", "m", body)
    assert key != answer_key("org_a", "completions", "other", body)
    assert key != answer_key("org_a", "completions", "m", {**body, "temperature": 0.5})
    assert key != answer_key("org_a", "completions", "m", {**body, "prompt": "hi "})


async def test_redis_away_is_a_miss_and_is_left_alone_for_a_while(infra: Infra) -> None:
    host, port = infra.redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    proxy = TcpProxy(host, int(port)).start()
    kv = open_kv(
        f"redis://127.0.0.1:{proxy.port}/0", f"{infra.redis_prefix}away:{uuid.uuid4().hex}:"
    )
    answers = cache(kv)
    try:
        await answers.put("answer:k", BODY, KIND, 3, 30)
        assert kept(await answers.get("answer:k")) == (BODY, KIND, 3)
        proxy.cut()
        assert await answers.get("answer:k") is None  # no error: the miss path
        await answers.put("answer:other", BODY, KIND, 3, 30)  # no error either
        proxy.restore()
        assert await answers.get("answer:k") is None  # still within retry_s: not asked
        await asyncio.sleep(0.3)
        assert kept(await answers.get("answer:k")) == (BODY, KIND, 3)
    finally:
        await answers.close()
        proxy.stop()
