"""The consistent-hash ring and its bounded loads, as pure functions."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from aistrale_router.routing.affinity.ring import HashRing, key_point, within_bound

IDS = ("vllm-a", "vllm-b", "vllm-c", "vllm-d")
KEYS = [key_point(f"key-{i}".encode()) for i in range(2000)]


def owners(ring: HashRing) -> list[int]:
    return [ring.walk(key)[0] for key in KEYS]


def test_the_ring_is_the_same_in_another_process() -> None:
    """Nothing per-process (like `hash()`'s seed) goes into the ring."""
    code = (
        "from aistrale_router.routing.affinity.ring import HashRing, key_point\n"
        f"ring = HashRing({IDS!r})\n"
        "print([ring.walk(key_point(f'key-{i}'.encode()))[0] for i in range(2000)])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert other.strip() == str(owners(HashRing(IDS)))


def test_keys_spread_over_every_deployment() -> None:
    counts = Counter(owners(HashRing(IDS)))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 2000 / 4 / 2, counts  # none starved with 64 vnodes each


def test_removing_a_deployment_moves_only_its_own_keys() -> None:
    before = [IDS[i] for i in owners(HashRing(IDS))]
    without_c = tuple(d for d in IDS if d != "vllm-c")
    after = [without_c[i] for i in owners(HashRing(without_c))]
    moved = [b for b, a in zip(before, after, strict=True) if b != a]
    assert moved and set(moved) == {"vllm-c"}


def test_a_walk_meets_every_deployment_once() -> None:
    ring = HashRing(IDS)
    for key in KEYS[:50]:
        assert sorted(ring.walk(key)) == [0, 1, 2, 3]


def test_an_idle_pool_admits_one_anywhere() -> None:
    assert within_bound(0, 0, 1, 4, 1.25)


def test_the_bound_is_c_times_the_fair_share() -> None:
    # 8 in flight over 4 equal deployments, one more coming: a share of 9/4 = 2.25,
    # times 1.25 = 2.8125, so a capacity of 3 requests.
    assert within_bound(2, 8, 1, 4, 1.25)
    assert not within_bound(3, 8, 1, 4, 1.25)
    # A deployment of weight 2 out of 4 has twice the share: 1.25 * 9 * 2/4 -> 6.
    assert within_bound(5, 8, 2, 4, 1.25)
    assert not within_bound(6, 8, 2, 4, 1.25)


def test_a_hot_key_spills_to_its_ring_neighbours_and_no_further_than_needed() -> None:
    ring = HashRing(IDS)
    key = KEYS[0]
    home, neighbour = ring.walk(key)[:2]
    loads = [0, 0, 0, 0]
    placed: list[int] = []
    for _ in range(8):  # eight concurrent requests of one prefix
        picked = ring.pick(key, loads, [1, 1, 1, 1], 1.25, lambda i: True)
        assert picked is not None
        loads[picked[0]] += 1
        placed.append(picked[0])
    assert placed[0] == home
    assert max(loads) <= 3  # ceil(1.25 * 8 / 4): nobody above c times the average
    assert loads[home] >= loads[neighbour] > 0


def test_an_ineligible_home_is_skipped() -> None:
    ring = HashRing(IDS)
    key = KEYS[1]
    home, neighbour = ring.walk(key)[:2]
    picked = ring.pick(key, [0, 0, 0, 0], [1, 1, 1, 1], 1.25, lambda i: i != home)
    assert picked == (neighbour, 1)


def test_nothing_is_picked_when_every_deployment_is_ineligible() -> None:
    assert HashRing(IDS).pick(KEYS[2], [0] * 4, [1] * 4, 1.25, lambda i: False) is None
