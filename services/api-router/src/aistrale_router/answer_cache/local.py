"""The in-process first level: answers this replica kept or read lately, until their expiry.

Entries never change once written (the same key is the same request), so a copy here is
never stale before the expiry the shared store has too; what bounds it is memory: the least
recently used go first past `max_bytes`.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from aistrale_router.answer_cache.entry import CachedAnswer


class LocalAnswers:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, tuple[CachedAnswer, float]] = OrderedDict()

    def get(self, key: str) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.time():
            self._pop(key)
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: str, answer: CachedAnswer) -> None:
        size = len(answer.body)
        if size > self._max_bytes or answer.expires_at <= time.time():
            return
        self._pop(key)
        self._entries[key] = (answer, answer.expires_at)
        self._bytes += size
        while self._bytes > self._max_bytes:
            self._pop(next(iter(self._entries)))

    def _pop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0].body)
