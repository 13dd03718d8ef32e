"""Key cache and resolver rules, with a fake clock and a scripted user-org."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from aistrale_common.errors import AuthenticationFailed, ServiceUnavailable
from aistrale_common.events.schemas import ControlEvent
from aistrale_router.keys.cache import KeyCache
from aistrale_router.keys.control import apply_control_event
from aistrale_router.keys.lookup import LookupUnavailable
from aistrale_router.keys.record import KeyRecord
from aistrale_router.keys.resolver import KeyResolver, hash_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedUserOrg:
    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.down = False
        self.calls = 0
        self.delay_s = 0.0

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.down:
            raise LookupUnavailable("connection refused")
        return self.records.get(key_hash)


def record(**fields: object) -> KeyRecord:
    return KeyRecord.model_validate({"key_id": "k1", "org_id": "o1", "status": "active", **fields})


def setup() -> tuple[KeyResolver, ScriptedUserOrg, Clock]:
    clock = Clock()
    cache = KeyCache(ttl_s=30, negative_ttl_s=5, grace_s=300, max_size=3, clock=clock)
    userorg = ScriptedUserOrg()
    return KeyResolver(cache, userorg), userorg, clock


async def test_hits_and_misses_are_cached_for_their_ttl() -> None:
    resolver, userorg, clock = setup()
    userorg.records[hash_key("sk-good")] = record()
    for _ in range(3):
        assert (await resolver.authenticate("Bearer sk-good")).key_id == "k1"
        with pytest.raises(AuthenticationFailed):
            await resolver.authenticate("Bearer sk-bad")
    assert userorg.calls == 2
    clock.now += 6  # the miss expired, the hit did not
    with pytest.raises(AuthenticationFailed):
        await resolver.authenticate("Bearer sk-bad")
    await resolver.authenticate("Bearer sk-good")
    assert userorg.calls == 3


async def test_user_org_down_seen_keys_work_for_the_grace_then_503() -> None:
    resolver, userorg, clock = setup()
    userorg.records[hash_key("sk-good")] = record()
    await resolver.authenticate("Bearer sk-good")
    userorg.down = True
    clock.now += 31 + 250  # past the TTL, inside the grace
    assert (await resolver.authenticate("Bearer sk-good")).key_id == "k1"
    with pytest.raises(ServiceUnavailable):
        await resolver.authenticate("Bearer sk-never-seen")
    clock.now += 100  # past TTL + grace
    with pytest.raises(ServiceUnavailable):
        await resolver.authenticate("Bearer sk-good")


async def test_revoked_expired_and_malformed_keys_are_401() -> None:
    resolver, userorg, _ = setup()
    userorg.records[hash_key("sk-revoked")] = record(status="revoked")
    past = datetime.now(UTC) - timedelta(seconds=1)
    userorg.records[hash_key("sk-expired")] = record(expires_at=past)
    for header in ("Bearer sk-revoked", "Bearer sk-expired", None, "Basic abc", "Bearer "):
        with pytest.raises(AuthenticationFailed):
            await resolver.authenticate(header)


async def test_concurrent_misses_share_one_lookup() -> None:
    resolver, userorg, _ = setup()
    userorg.records[hash_key("sk-good")] = record()
    userorg.delay_s = 0.05
    found = await asyncio.gather(*(resolver.authenticate("Bearer sk-good") for _ in range(20)))
    assert {r.key_id for r in found} == {"k1"} and userorg.calls == 1


async def test_control_events_revoke_by_key_and_mark_the_org_changed() -> None:
    resolver, userorg, _ = setup()
    userorg.records[hash_key("sk-a")] = record(key_id="a", org_id="o1")
    userorg.records[hash_key("sk-b")] = record(key_id="b", org_id="o2")
    await resolver.authenticate("Bearer sk-a")
    await resolver.authenticate("Bearer sk-b")
    assert apply_control_event(resolver.cache, ControlEvent(type="key.revoked", key_id="a")) == 1
    assert (
        apply_control_event(resolver.cache, ControlEvent(type="budget.updated", org_id="o2")) == 1
    )
    with pytest.raises(AuthenticationFailed):
        await resolver.authenticate("Bearer sk-a")  # refused without asking user-org
    assert userorg.calls == 2
    await resolver.authenticate("Bearer sk-b")  # changed: asked again
    assert userorg.calls == 3


def test_the_cache_is_bounded() -> None:
    cache = KeyCache(ttl_s=30, negative_ttl_s=5, grace_s=0, max_size=3)
    for i in range(5):
        cache.put(f"h{i}", None)
    assert len(cache) == 3 and cache.fresh("h0") is None and cache.fresh("h4") is not None
