"""Chat-template special tokens a local llama.cpp server can leak into generated text
(`<start_of_image>`, `<|im_end|>`, `<end_of_turn>`...): removed from the answer of
deployments the catalog marks `engine: llama.cpp`, and only from those (hosted servers do
not leak them, and their answers pass through as bytes).

Cheap on purpose: a `<` in the text is the only case that runs the regular expression."""

from __future__ import annotations

import re
from typing import Any

# `<|...|>` (ChatML, Llama 3, Phi), Gemma's `<start_of_turn>`-style, and `<s>`/`</s>`.
SPECIAL = re.compile(
    r"<\|[A-Za-z0-9_.:-]{1,40}\|>"
    r"|<(?:start|end)_of_(?:turn|image|text)>"
    r"|<(?:bos|eos|pad|unk|image_soft_token)>"
    r"|</?s>"
)


def strip_text(text: str) -> str:
    if "<" not in text:
        return text
    return SPECIAL.sub("", text)


def clean_chunk(chunk: dict[str, Any]) -> bool:
    """A stream chunk: `delta.content` (chat) or `text` (completions). True if changed."""
    return _clean_choices(chunk, "delta")


def clean_answer(answer: dict[str, Any]) -> bool:
    """A whole answer: `message.content` (chat) or `text` (completions)."""
    return _clean_choices(answer, "message")


def _clean_choices(body: dict[str, Any], holder: str) -> bool:
    changed = False
    choices = body.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        inner = choice.get(holder)
        target, field = (inner, "content") if isinstance(inner, dict) else (choice, "text")
        text = target.get(field)
        if isinstance(text, str) and "<" in text:
            cleaned = SPECIAL.sub("", text)
            if cleaned != text:
                target[field] = cleaned
                changed = True
    return changed
