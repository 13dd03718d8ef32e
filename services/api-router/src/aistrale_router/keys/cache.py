"""A per-process cache of key lookups: positive and negative answers, short TTLs, bounded.

Entries are kept past their TTL (up to the stale grace) so that a key seen recently keeps
working while user-org is unreachable; control events drop entries at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aistrale_router.keys.record import KeyRecord

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class CachedKey:
    record: KeyRecord | None  # None: user-org said the key is unknown
    fetched_at: float


class KeyCache:
    def __init__(
        self,
        *,
        ttl_s: float,
        negative_ttl_s: float,
        grace_s: float,
        max_size: int,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._negative_ttl = negative_ttl_s
        self._grace = grace_s
        self._max = max_size
        self._clock = clock
        self._entries: dict[str, CachedKey] = {}

    def fresh(self, key_hash: str) -> CachedKey | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        ttl = self._ttl if entry.record is not None else self._negative_ttl
        return entry if self._clock() - entry.fetched_at <= ttl else None

    def stale(self, key_hash: str) -> KeyRecord | None:
        """A positive answer still inside the grace period (user-org unreachable)."""
        entry = self._entries.get(key_hash)
        if entry is None or entry.record is None:
            return None
        return entry.record if self._clock() - entry.fetched_at <= self._ttl + self._grace else None

    def put(self, key_hash: str, record: KeyRecord | None) -> None:
        self._entries.pop(key_hash, None)
        if len(self._entries) >= self._max:
            # dicts keep insertion order: the oldest fetch goes first.
            self._entries.pop(next(iter(self._entries)))
        self._entries[key_hash] = CachedKey(record, self._clock())

    def drop(
        self,
        *,
        key_hash: str | None = None,
        key_id: str | None = None,
        org_id: str | None = None,
    ) -> int:
        doomed = [
            h
            for h, entry in self._entries.items()
            if h == key_hash or _belongs(entry.record, key_id, org_id)
        ]
        for h in doomed:
            del self._entries[h]
        return len(doomed)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _belongs(record: KeyRecord | None, key_id: str | None, org_id: str | None) -> bool:
    if record is None:
        return False
    return (key_id is not None and record.key_id == key_id) or (
        org_id is not None and record.org_id == org_id
    )
