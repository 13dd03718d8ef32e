"""Stale while revalidate, control events and a failing user-org, on the key resolver with an
injected clock and a user-org double whose lookups can hang (a stopped process) or fail."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import httpx
import pytest

from aistrale_common.errors import AuthenticationFailed, ServiceUnavailable
from aistrale_common.events.schemas import ControlEvent
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.keys import lookups
from aistrale_router.keys.cache import KeyCache
from aistrale_router.keys.control import apply_control_event
from aistrale_router.keys.lookup import LookupUnavailable, UserOrgKeyLookup
from aistrale_router.keys.metrics import KeyMetrics
from aistrale_router.keys.record import KeyRecord
from aistrale_router.keys.resolver import KeyResolver, RefreshPolicy, hash_key

KEY = "Bearer sk-good"
TTL, GRACE = 30.0, 300.0
POLICY = RefreshPolicy(retry_s=1.0, retry_max_s=4.0, failing_s=10.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class UserOrg:
    """Answers from `records` as they were when the lookup arrived (a database read), after
    `release()` while `hang` is set; raises LookupUnavailable when `down`."""

    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.calls = 0
        self.hang = False
        self.down = False
        self._gate = asyncio.Event()

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        self.calls += 1
        answer = self.records.get(key_hash)
        if self.hang:
            await self._gate.wait()
        if self.down:
            raise LookupUnavailable("user-org unreachable: ReadTimeout")
        return answer

    def release(self) -> None:
        """SIGCONT: the lookups waiting answer, later ones do not wait."""
        self.hang = False
        self._gate.set()
        self._gate = asyncio.Event()


def record(**fields: object) -> KeyRecord:
    return KeyRecord.model_validate({"key_id": "k1", "org_id": "o1", "status": "active", **fields})


class World:
    def __init__(self) -> None:
        self.clock = Clock()
        self.userorg = UserOrg()
        self.userorg.records[hash_key("sk-good")] = record(rpm_limit=10)
        cache = KeyCache(ttl_s=TTL, negative_ttl_s=5, grace_s=GRACE, max_size=100, clock=self.clock)
        self.metrics = ServiceMetrics("api-router")
        self.resolver = KeyResolver(
            cache, self.userorg, policy=POLICY, metrics=KeyMetrics(self.metrics)
        )

    async def auth(self, header: str = KEY) -> KeyRecord:
        """Must answer without waiting for a hanging user-org: the double never answers
        unless released, so finishing at all proves no lookup was awaited."""
        async with asyncio.timeout(1.0):
            return await self.resolver.authenticate(header)

    async def lookups_made(self, calls: int) -> None:
        """Background lookups start on the next loop turn: wait until they have."""
        await until(lambda: self.userorg.calls == calls)

    async def settle(self) -> None:
        """Lets background lookups that can finish do so."""
        for _ in range(100):
            if not self.resolver.lookups.in_flight():
                return
            await asyncio.sleep(0)
        raise AssertionError("a background lookup is still in flight")

    def event(self, **fields: str) -> int:
        return apply_control_event(self.resolver.cache, ControlEvent.model_validate(fields))

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(f"aistrale_api_router_{name}", labels)
        return value or 0.0


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


async def warm(world: World) -> None:
    assert (await world.auth()).rpm_limit == 10
    assert world.userorg.calls == 1


async def test_past_the_ttl_the_key_is_served_at_once_while_one_refresh_runs() -> None:
    world = World()
    await warm(world)
    world.userorg.hang = True  # a SIGSTOPped user-org: the lookup never answers
    world.clock.now += TTL + 1
    found = await asyncio.gather(*(world.auth() for _ in range(50)))
    assert {r.key_id for r in found} == {"k1"}
    await world.lookups_made(2)
    await asyncio.sleep(0.01)  # no second lookup comes later either
    assert world.userorg.calls == 2 and world.resolver.lookups.in_flight() == 1
    assert world.sample("key_stale_served_total", reason="expired") == 50
    world.userorg.records[hash_key("sk-good")] = record(rpm_limit=99)  # not yet read
    world.userorg.release()
    await world.settle()
    assert world.sample("key_refreshes_total", outcome="ok") == 1


async def test_the_refreshed_answer_replaces_the_entry_and_is_fresh_again() -> None:
    world = World()
    await warm(world)
    world.clock.now += TTL + 1
    world.userorg.records[hash_key("sk-good")] = record(rpm_limit=99)
    assert (await world.auth()).rpm_limit == 10  # served stale; the refresh reads 99
    await world.settle()
    assert (await world.auth()).rpm_limit == 99
    assert (await world.auth()).rpm_limit == 99
    assert world.userorg.calls == 2  # fresh again: no more lookups


@pytest.mark.parametrize("answer", [None, record(status="revoked")])
async def test_a_refresh_that_finds_the_key_gone_refuses_it_from_then_on(
    answer: KeyRecord | None,
) -> None:
    world = World()
    await warm(world)
    world.clock.now += TTL + 1
    if answer is None:
        del world.userorg.records[hash_key("sk-good")]
    else:
        world.userorg.records[hash_key("sk-good")] = answer
    await world.auth()  # the one request served while the refresh runs
    await world.settle()
    world.userorg.down = True  # and no stale fallback for it either
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            await world.auth()
    outcome = "unknown" if answer is None else "ok"
    assert world.sample("key_refreshes_total", outcome=outcome) == 1


async def test_failing_refreshes_back_off_and_never_overlap() -> None:
    world = World()
    await warm(world)
    world.userorg.down = True
    world.clock.now += TTL + 1
    started_at: list[float] = []
    for _ in range(48):  # a request every 0.25 s for 12 s
        await world.auth()
        assert world.resolver.lookups.in_flight() <= 1
        if world.resolver.lookups.in_flight():
            started_at.append(world.clock.now)
        await world.settle()
        world.clock.now += 0.25
    gaps = [b - a for a, b in itertools.pairwise(started_at)]
    assert gaps == [1.0, 2.0, 4.0, 4.0]  # retry_s doubling, capped at retry_max_s
    assert world.sample("key_refreshes_total", outcome="failed") == len(started_at)
    world.userorg.down = False
    world.clock.now += 4
    await world.auth()
    await world.settle()
    assert world.sample("key_refreshes_total", outcome="ok") == 1


async def test_a_revoked_key_is_refused_at_once_even_with_user_org_stopped() -> None:
    world = World()
    await warm(world)
    world.userorg.hang = True
    world.clock.now += TTL + 1
    await world.auth()  # a refresh is now in flight; it read the key as active
    await world.lookups_made(2)
    assert world.event(type="key.revoked", key_id="k1") == 1
    with pytest.raises(AuthenticationFailed):
        await world.auth()
    world.userorg.release()  # the refresh answers "active", read before the revocation
    await world.settle()
    world.clock.now += TTL + GRACE - 1  # and whatever the clock says until the grace ends
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            await world.auth()
    assert world.userorg.calls == 2


async def test_a_lookup_racing_a_revocation_cannot_bring_the_key_back() -> None:
    world = World()
    world.userorg.hang = True
    first = asyncio.create_task(world.resolver.authenticate(KEY))  # a miss, read as active
    await until(lambda: world.userorg.calls == 1)
    world.event(type="key.revoked", key_hash=hash_key("sk-good"))
    world.userorg.release()
    with pytest.raises(AuthenticationFailed):
        await first
    with pytest.raises(AuthenticationFailed):
        await world.auth()
    assert world.userorg.calls == 1


async def test_unknown_keys_are_never_served_stale() -> None:
    world = World()
    await warm(world)
    with pytest.raises(AuthenticationFailed):
        await world.auth("Bearer sk-unknown")
    world.userorg.down = True
    world.clock.now += 6  # past the negative TTL, well inside the grace
    with pytest.raises(ServiceUnavailable):
        await world.auth("Bearer sk-unknown")
    world.clock.now = 1000.0 + TTL + GRACE + 1  # a positive answer past the grace: the same
    with pytest.raises(ServiceUnavailable):
        await world.auth()


async def test_after_a_budget_change_the_next_request_waits_for_the_new_answer() -> None:
    world = World()
    await warm(world)
    world.userorg.records[hash_key("sk-good")] = record(rpm_limit=5)
    assert world.event(type="budget.updated", org_id="o1") == 1
    assert (await world.auth()).rpm_limit == 5  # that very request has the new limit
    assert world.userorg.calls == 2
    assert (await world.auth()).rpm_limit == 5
    assert world.userorg.calls == 2


async def test_after_a_change_a_failing_user_org_is_fallen_back_on_then_not_waited_for() -> None:
    world = World()
    await warm(world)
    world.userorg.down = True
    world.event(type="key.updated", key_id="k1")
    assert (await world.auth()).rpm_limit == 10  # asked, no answer: the last one
    assert world.sample("key_stale_served_total", reason="lookup_failed") == 1
    world.userorg.down, world.userorg.hang = False, True  # now stopped, not refusing
    world.clock.now += POLICY.retry_s
    for _ in range(20):  # user-org is failing: served at once, refreshed behind
        assert (await world.auth()).rpm_limit == 10
    assert world.sample("key_stale_served_total", reason="changed") == 20
    await world.lookups_made(3)
    assert world.resolver.lookups.in_flight() == 1
    world.userorg.release()
    await world.settle()  # it started after the event: its answer confirms the key
    assert (await world.auth()).rpm_limit == 10
    assert world.userorg.calls == 3


async def test_once_user_org_is_no_longer_failing_a_changed_key_waits_again() -> None:
    world = World()
    await warm(world)
    world.userorg.down = True
    world.event(type="key.updated", key_id="k1")
    await world.auth()  # failed: user-org is failing for failing_s
    world.userorg.down = False
    world.userorg.records[hash_key("sk-good")] = record(rpm_limit=3)
    world.clock.now += POLICY.failing_s + 0.1
    assert (await world.auth()).rpm_limit == 3  # waited for the answer


async def test_a_changed_key_does_not_take_an_answer_read_before_the_change() -> None:
    world = World()
    await warm(world)
    world.userorg.hang = True
    world.clock.now += TTL + 1
    await world.auth()  # a background refresh reads rpm_limit=10 and hangs
    await world.lookups_made(2)
    world.userorg.records[hash_key("sk-good")] = record(rpm_limit=5)
    world.event(type="budget.updated", org_id="o1")
    waiting = asyncio.create_task(world.resolver.authenticate(KEY))
    await asyncio.sleep(0)
    assert not waiting.done() and world.userorg.calls == 2  # waiting for the old lookup
    world.userorg.release()  # the old refresh answers 10; a new lookup then reads 5
    async with asyncio.timeout(1.0):
        assert (await waiting).rpm_limit == 5
    assert world.userorg.calls == 3 and world.resolver.lookups.in_flight() == 0


async def test_a_refresh_in_flight_across_a_change_leaves_the_key_changed() -> None:
    world = World()
    await warm(world)
    world.userorg.hang = True
    world.clock.now += TTL + 1
    await world.auth()  # refresh in flight, reads rpm_limit=10
    await world.lookups_made(2)
    world.userorg.records[hash_key("sk-good")] = record(rpm_limit=5)
    world.event(type="key.updated", key_id="k1")
    world.userorg.release()
    await world.settle()
    assert (await world.auth()).rpm_limit == 5  # its answer did not count as confirmation


async def test_close_stops_refreshes_in_flight() -> None:
    world = World()
    await warm(world)
    world.userorg.hang = True
    world.clock.now += TTL + 1
    await world.auth()
    await world.lookups_made(2)
    assert world.resolver.lookups.in_flight() == 1
    await world.resolver.close()
    assert world.resolver.lookups.in_flight() == 0


async def test_a_malformed_answer_is_no_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"key_id": "k1"})  # no org, no status

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://userorg"
    ) as client:
        with pytest.raises(LookupUnavailable):
            await UserOrgKeyLookup(client, "token").lookup("ab" * 32)


class Logs:
    """Stands in for the module's structlog logger (whose configuration is per process)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **fields: self.lines.append((level, event, fields))


async def test_serving_stale_is_a_warning_once_per_key_and_names_only_the_key_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs = Logs()
    monkeypatch.setattr(lookups, "log", logs)
    world = World()
    await warm(world)
    world.userorg.down = True
    world.clock.now += TTL + 1
    for _ in range(3):  # three refreshes, each after its backoff
        await world.auth()
        await world.settle()
        world.clock.now += POLICY.retry_max_s
    stale = [(level, fields) for level, event, fields in logs.lines if event == "key_served_stale"]
    assert [level for level, _ in stale] == ["warning", "info", "info"]
    assert {fields["key_id"] for _, fields in stale} == {"k1"}
    assert "sk-good" not in repr(logs.lines) and hash_key("sk-good") not in repr(logs.lines)
