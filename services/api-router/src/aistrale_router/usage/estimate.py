"""The router's own token count, for when upstream reports none: characters / 4."""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4


def estimate_prompt_tokens(payload: Any) -> int:
    """Characters / 4 over every string, plus a few tokens of framing per part: the
    completion size metered when upstream reports no usage (the prompt's reservation is
    the upper bound of text/prompt_estimate.py)."""
    chars, parts = _count_text(payload)
    return chars // CHARS_PER_TOKEN + 4 * parts + 1


def _count_text(payload: Any) -> tuple[int, int]:
    if isinstance(payload, str):
        return len(payload), 1
    if isinstance(payload, list):
        counted = [_count_text(item) for item in payload]
        return sum(c for c, _ in counted), sum(p for _, p in counted)
    if isinstance(payload, dict):
        counted = [_count_text(v) for v in payload.values()]
        return sum(c for c, _ in counted), 1
    return (1, 0) if isinstance(payload, int) else (0, 0)  # token ids: one each
