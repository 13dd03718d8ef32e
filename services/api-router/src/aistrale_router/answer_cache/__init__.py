"""The exact answer cache: identical non-streamed requests of one org, answered once
(docs/router.md "Answer cache", docs/decisions/router-answer-cache.md)."""

from aistrale_router.answer_cache.entry import CachedAnswer
from aistrale_router.answer_cache.key import answer_key
from aistrale_router.answer_cache.store import CACHE_HEADER, AnswerCache

__all__ = ["CACHE_HEADER", "AnswerCache", "CachedAnswer", "answer_key"]
