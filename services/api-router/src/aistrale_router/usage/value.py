"""Tokens one request used, whichever provider served it and however it was relayed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aistrale_common.events.schemas import MAX_TOKENS


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, read from a cache (priced apart)
    # True when upstream reported nothing and the router counted itself (chars / 4 for the
    # prompt, token-carrying chunks for the completion).
    estimated: bool = False

    def as_openai(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }


def usage_from_openai(raw: Any) -> Usage | None:
    """An OpenAI-format usage object (vLLM's, TGI's, ours). The counts are a server's word:
    what is not a number counts as 0 and the rest is clamped to the usage event's range,
    for the settlement too. None when there is no usage object."""
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Usage(
        token_count(raw.get("prompt_tokens")),
        token_count(raw.get("completion_tokens")),
        token_count(cached),
    )


def clamped(usage: Usage) -> Usage:
    """A translator's usage, held to the same range as one read from a server."""
    return Usage(
        token_count(usage.prompt_tokens),
        token_count(usage.completion_tokens),
        token_count(usage.cached_tokens),
        usage.estimated,
    )


def token_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return min(max(int(value), 0), MAX_TOKENS)
