"""The usage of a whole (non-streamed) OpenAI-format answer: what upstream reported, or
the router's own count when it reported nothing."""

from __future__ import annotations

from typing import Any

import orjson

from aistrale_router.usage.estimate import estimate_prompt_tokens
from aistrale_router.usage.value import Usage, usage_from_openai


def usage_of_body(body: bytes, prompt_estimate: int) -> Usage:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    return usage_of_answer(parsed, prompt_estimate)


def usage_of_answer(answer: Any, prompt_estimate: int) -> Usage:
    if not isinstance(answer, dict):
        return Usage(prompt_estimate, 0, estimated=True)
    found = usage_from_openai(answer.get("usage"))
    if found is not None:
        return found
    choices = answer.get("choices")
    completion = estimate_prompt_tokens(choices) if choices else 0  # same chars/4 rule
    return Usage(prompt_estimate, completion, estimated=True)
