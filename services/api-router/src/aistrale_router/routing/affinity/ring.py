"""A consistent-hash ring over a model's deployments, walked with bounded loads.

The ring is a pure function of the deployment ids (blake2b of "id#replica"): two router
processes with the same catalog build the same ring and send the same affinity key to the
same deployment, with nothing shared between them. Each deployment has VNODES points on the
ring, so adding or removing one moves only about 1/n of the keys.

Bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads",
2018): walking clockwise from the key's point, a deployment is taken only if one more
request keeps it within `c` times its fair share of the current load
(ceil(c * (total + 1) * weight / total_weight)); otherwise the walk goes on to the next
deployment. One hot key therefore spills onto its ring neighbours instead of piling onto
one replica, and comes back as soon as the load evens out.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Sequence

VNODES = 64


def point(data: bytes) -> int:
    """A 64-bit ring position: stable across processes (unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class HashRing:
    """The ring for one ordered tuple of deployment ids."""

    __slots__ = ("_owners", "_points", "size")

    def __init__(self, ids: Sequence[str], vnodes: int = VNODES) -> None:
        ring = sorted(
            (point(f"{deployment}#{replica}".encode()), index)
            for index, deployment in enumerate(ids)
            for replica in range(vnodes)
        )
        self._points = [p for p, _ in ring]
        self._owners = [owner for _, owner in ring]
        self.size = len(ids)

    def walk(self, key: int) -> list[int]:
        """Indexes of the deployments in the order the key meets them, clockwise."""
        start = bisect.bisect_left(self._points, key)
        owners, total = self._owners, len(self._owners)
        order: list[int] = []
        for step in range(total):
            owner = owners[(start + step) % total]
            if owner not in order:
                order.append(owner)
                if len(order) == self.size:
                    break
        return order

    def pick(
        self,
        key: int,
        loads: Sequence[int],
        weights: Sequence[int],
        c: float,
        eligible: Callable[[int], bool],
    ) -> tuple[int, int] | None:
        """(index, steps past the key's own deployment) of the first eligible deployment
        within its bounded load, or None when every one is ineligible or full."""
        total_load, total_weight = sum(loads), sum(weights)
        for steps, index in enumerate(self.walk(key)):
            if eligible(index) and within_bound(
                loads[index], total_load, weights[index], total_weight, c
            ):
                return index, steps
        return None


def within_bound(load: int, total_load: int, weight: int, total_weight: int, c: float) -> bool:
    """One more request keeps this deployment within c times its weighted fair share:
    load + 1 <= ceil(c * (total_load + 1) * weight / total_weight), in integers where
    possible (the ceiling makes an idle pool always admit one)."""
    share = c * (total_load + 1) * weight / total_weight
    capacity = int(share) + (share > int(share))
    return load + 1 <= capacity


class RingCache:
    """Rings by deployment ids: built once per catalog shape, not per request."""

    __slots__ = ("_rings",)

    def __init__(self) -> None:
        self._rings: dict[tuple[str, ...], HashRing] = {}

    def get(self, ids: tuple[str, ...]) -> HashRing:
        ring = self._rings.get(ids)
        if ring is None:
            if len(self._rings) > 1024:  # catalogs reloaded many times: forget old shapes
                self._rings.clear()
            ring = self._rings[ids] = HashRing(ids)
        return ring
