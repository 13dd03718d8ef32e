"""A per-process cache of key lookups: positive and negative answers, short TTLs, bounded.

What an entry is worth depends on its age and on the control events since it was fetched
(docs/decisions/router-key-cache-stale-while-revalidate.md):

- FRESH: younger than its TTL (a negative answer: the negative TTL), or known revoked;
- STALE: a positive answer past its TTL, inside the grace: served while a refresh runs;
- CHANGED: a control event said the key, its org or its budget changed: ask user-org first,
  fall back to it only when user-org does not answer;
- MISSING: nothing usable (never seen, a negative answer past its TTL, past the grace).

Revocations are remembered by key id and hash, so that an answer user-org gave before a
revocation, arriving after it, can never bring the key back.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from aistrale_router.keys.record import KeyRecord

Clock = Callable[[], float]


class State(enum.Enum):
    FRESH = "fresh"
    STALE = "stale"
    CHANGED = "changed"
    MISSING = "missing"


# Module constants: looking an Enum member up on its class is a measurable share of a hit.
FRESH, STALE, CHANGED, MISSING = State.FRESH, State.STALE, State.CHANGED, State.MISSING


@dataclass(frozen=True, slots=True)
class CachedKey:
    record: KeyRecord | None  # None: user-org said the key is unknown
    fetched_at: float
    changed: bool = False  # a control event came after this answer


NOTHING = CachedKey(None, -math.inf)  # what get() gives for a key it has never seen


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
        self.max_size = max_size
        self.clock = clock
        # Bumped by every control event: an answer to a lookup asked before it may predate it.
        self.version = 0
        self._entries: dict[str, CachedKey] = {}
        self._revoked_hashes = _Names(max_size)
        self._revoked_ids = _Names(max_size)

    def get(self, key_hash: str) -> tuple[State, CachedKey]:
        entry = self._entries.get(key_hash, NOTHING)
        return self._state(entry), entry

    def fresh(self, key_hash: str) -> CachedKey | None:
        state, entry = self.get(key_hash)
        return entry if state is FRESH else None

    def fallback(self, key_hash: str) -> KeyRecord | None:
        """What to use when user-org does not answer: a positive answer inside the grace
        (a revoked one included, so that it is refused). Never a negative one."""
        state, entry = self.get(key_hash)
        return None if state is MISSING else entry.record

    def put(
        self, key_hash: str, record: KeyRecord | None, *, asked_at: int | None = None
    ) -> KeyRecord | None:
        """Stores user-org's answer to a lookup started at version `asked_at` (None: now);
        returns the record to use, revoked if a revocation for it came in meanwhile."""
        if record is not None and self._is_revoked(key_hash, record):
            record = record.model_copy(update={"status": "revoked"})
        changed = asked_at is not None and asked_at != self.version
        self._entries.pop(key_hash, None)
        if len(self._entries) >= self.max_size:
            # dicts keep insertion order: the oldest fetch goes first.
            self._entries.pop(next(iter(self._entries)))
        self._entries[key_hash] = CachedKey(record, self.clock(), changed)
        return record

    def invalidate(
        self, *, key_hash: str | None = None, key_id: str | None = None, org_id: str | None = None
    ) -> int:
        """key.updated, org.updated, budget.updated: the matching entries must be asked for
        again before use, and are kept as the fallback while user-org does not answer."""
        self.version += 1
        hits = self._matching(key_hash, key_id, org_id)
        for h in hits:
            entry = self._entries[h]
            if entry.record is None:
                del self._entries[h]  # the hash may name a key now: ask
            else:
                self._entries[h] = replace(entry, changed=True)
        return len(hits)

    def revoke(self, *, key_hash: str | None = None, key_id: str | None = None) -> int:
        """key.revoked: refused at once from now on, whether user-org answers or not."""
        self.version += 1
        self._revoked_hashes.add(key_hash)
        self._revoked_ids.add(key_id)
        hits = self._matching(key_hash, key_id, None)
        for h in hits:
            record = self._entries[h].record
            if record is not None:
                self.put(h, record)  # put() marks it revoked; its age restarts
        return len(hits)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _state(self, entry: CachedKey) -> State:
        age = self.clock() - entry.fetched_at
        if entry.record is None:
            return FRESH if age <= self._negative_ttl else MISSING
        if age <= self._ttl and not entry.changed:
            return FRESH  # the hot path: one comparison
        if age > self._ttl + self._grace:
            return MISSING
        if entry.record.status == "revoked":
            return FRESH  # revocations are final: nothing to ask
        return CHANGED if entry.changed else STALE

    def _is_revoked(self, key_hash: str, record: KeyRecord) -> bool:
        return key_hash in self._revoked_hashes or record.key_id in self._revoked_ids

    def _matching(self, key_hash: str | None, key_id: str | None, org_id: str | None) -> list[str]:
        return [
            h
            for h, entry in self._entries.items()
            if h == key_hash or _belongs(entry.record, key_id, org_id)
        ]


class _Names:
    """A bounded set of names, oldest first out."""

    def __init__(self, max_size: int) -> None:
        self._max = max_size
        self._names: dict[str, None] = {}

    def add(self, name: str | None) -> None:
        if name is None:
            return
        self._names.pop(name, None)
        self._names[name] = None
        if len(self._names) > self._max:
            del self._names[next(iter(self._names))]

    def __contains__(self, name: str) -> bool:
        return name in self._names


def _belongs(record: KeyRecord | None, key_id: str | None, org_id: str | None) -> bool:
    if record is None:
        return False
    return (key_id is not None and record.key_id == key_id) or (
        org_id is not None and record.org_id == org_id
    )
