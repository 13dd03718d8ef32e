"""Cached answers in the kv port (Redis shared by replicas; in process for `make run`).

The cache is an optimisation, never a dependency: a store that fails or is slow is a miss,
and is left alone for `retry_s` so that an outage costs each request nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from aistrale_common.errors import AistraleError
from aistrale_common.kv import KeyValue
from aistrale_common.logging import get_logger
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.answer_cache.entry import CachedAnswer
from aistrale_router.answer_cache.local import LocalAnswers

log = get_logger(__name__)
CACHE_HEADER = "x-aistrale-cache"
Outcome = Literal["hit", "miss", "bypass", "store_error"]


class CacheMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.results = metrics.counter(
            "answer_cache_total",
            "Model requests by answer-cache outcome (hit, miss, bypass, store_error)",
            ("result",),
        )
        self._children = {r: self.results.labels(r) for r in ("hit", "miss", "bypass")}
        self._children["store_error"] = self.results.labels("store_error")

    def count(self, outcome: Outcome) -> None:
        self._children[outcome].inc()


class AnswerCache:
    def __init__(
        self,
        kv: KeyValue,
        *,
        timeout_s: float,
        retry_s: float,
        max_bytes: int,
        local_max_bytes: int = 0,
        metrics: CacheMetrics | None = None,
    ) -> None:
        # 0: every lookup asks the shared store (tests of the store itself).
        self._local = LocalAnswers(local_max_bytes) if local_max_bytes > 0 else None
        self._kv = kv
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._max_bytes = max_bytes
        self._metrics = metrics
        self._away_until = 0.0

    def count(self, outcome: Outcome) -> None:
        if self._metrics is not None:
            self._metrics.count(outcome)

    async def get(self, key: str) -> CachedAnswer | None:
        if self._local is not None and (kept := self._local.get(key)) is not None:
            return kept
        if self._away():
            return None
        try:
            async with asyncio.timeout(self._timeout_s):
                (text,) = await self._kv.get_many([key])
        except (AistraleError, TimeoutError):
            self._failed("get")
            return None
        answer = CachedAnswer.decode(text) if text is not None else None
        if answer is not None and self._local is not None:
            self._local.put(key, answer)
        return answer

    async def put(self, key: str, body: bytes, content_type: str, cost: int, ttl_s: float) -> None:
        if len(body) > self._max_bytes:
            return
        answer = CachedAnswer(body, content_type, cost, time.time() + ttl_s)
        try:
            text = answer.encode()
        except UnicodeDecodeError:
            return  # not text: not an answer the OpenAI API gives, and not worth keeping
        if self._local is not None:
            self._local.put(key, answer)
        if self._away():
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._kv.set(key, text, ttl_s)
        except (AistraleError, TimeoutError):
            self._failed("set")

    def _away(self) -> bool:
        return time.monotonic() < self._away_until

    def _failed(self, operation: str) -> None:
        self._away_until = time.monotonic() + self._retry_s
        self.count("store_error")
        log.warning("answer_cache_unavailable", operation=operation, retry_s=self._retry_s)

    async def close(self) -> None:
        await self._kv.close()
