"""The prompt size admission reserves for: an upper bound on what the server counts, chat
template included, so that "no overspend when the estimate never undercounts"
(docs/budgets.md) holds for local models too.

- Text: a third of its characters when ASCII (English runs at about four per token),
  half its UTF-8 bytes otherwise (CJK about one token per character, three bytes).
- Chat template: every message is framed by a few special tokens and its role
  (ChatML `<|im_start|>user\\n...<|im_end|>\\n`, Llama 3, Gemma: 4 to 6), and every
  request gets a generation prompt plus, in some templates (SmolLM2, Qwen), a default
  system prompt of 15 to 25 tokens when the client sends none. Tools are rendered into
  the prompt, with instructions around them.

- Digits: one token each (SmolLM2, Gemma and Llama 2 tokenize numbers digit by digit), so
  a prompt dense in numbers stays under the bound too.
"""

from __future__ import annotations

import re
from typing import Any

MESSAGE_TOKENS = 8  # per message: role and framing special tokens, generous
REQUEST_TOKENS = 48  # per chat request: generation prompt and a template's default system
TOOLS_TOKENS = 128  # when tools are sent: the template's instructions around them
PROMPT_TOKENS = 4  # per completions prompt or embeddings input: BOS/EOS and the like
_DIGIT = re.compile(r"[0-9]")
_NO_DIGITS = str.maketrans("", "", "0123456789")


def chat_prompt_tokens(messages: list[Any], tools: Any = None) -> int:
    total = REQUEST_TOKENS + MESSAGE_TOKENS * len(messages) + text_tokens(messages)
    if tools:
        total += TOOLS_TOKENS + text_tokens(tools)
    return total


def input_tokens(payload: Any) -> int:
    """A completions `prompt` or an embeddings `input`: one string, a batch of them, token
    ids (one each) or a batch of token id lists."""
    if isinstance(payload, list) and payload and not isinstance(payload[0], int):
        return sum(input_tokens(item) for item in payload)
    return PROMPT_TOKENS + text_tokens(payload)


def text_tokens(payload: Any) -> int:
    """Every string in `payload` (dict keys are field names, not text), and ints as token
    ids. The caller bounded the nesting (validation/depth.py)."""
    if isinstance(payload, str):
        return _string_tokens(payload)
    if isinstance(payload, list):
        return sum(text_tokens(item) for item in payload)
    if isinstance(payload, dict):
        return sum(text_tokens(value) for value in payload.values())
    return 1 if isinstance(payload, int) and not isinstance(payload, bool) else 0


def _string_tokens(text: str) -> int:
    if text.isascii():
        if _DIGIT.search(text) is None:  # the common case: one scan, no copy
            return len(text) // 3 + 1
        letters = len(text.translate(_NO_DIGITS))
        return letters // 3 + (len(text) - letters) + 1
    return len(text.encode()) // 2 + 1
