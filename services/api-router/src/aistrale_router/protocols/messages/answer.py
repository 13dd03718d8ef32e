"""A `chat.completion` -> an Anthropic `Message`."""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from aistrale_common.errors import UpstreamFailed
from aistrale_router.protocols.messages.request import MessagesCall

_STOPS = {"length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def stop_reason(finish: str | None, matched: Any, call: MessagesCall) -> tuple[str, str | None]:
    """Anthropic's stop_reason and stop_sequence. Chat completions says only `stop`; vLLM
    adds the matched string as the choice's `stop_reason`, which names the sequence."""
    if finish in _STOPS:
        return _STOPS[finish], None
    if isinstance(matched, str) and matched in call.stop_sequences:
        return "stop_sequence", matched
    return "end_turn", None


def usage_object(usage: Any) -> dict[str, Any]:
    usage = usage if isinstance(usage, dict) else {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments as the `input` object (a model may emit broken JSON: kept as
    the raw text under `_raw`, rather than failing the whole answer)."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}


def from_chat(call: MessagesCall, chat: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(chat)
        choice = body["choices"][0]
        message = choice["message"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        raise UpstreamFailed("The model's server sent an answer we could not read.") from None
    content: list[dict[str, Any]] = []
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for tool in message.get("tool_calls") or []:
        function = tool.get("function") or {}
        content.append({"type": "tool_use", "id": tool.get("id") or new_id("toolu"),
                        "name": function.get("name", ""),
                        "input": tool_input(function.get("arguments"))})  # fmt: skip
    reason, sequence = stop_reason(choice.get("finish_reason"), choice.get("stop_reason"), call)
    return message_object(call, content, reason, sequence, usage_object(body.get("usage")))


def message_object(
    call: MessagesCall,
    content: list[dict[str, Any]],
    reason: str | None,
    sequence: str | None,
    usage: dict[str, Any],
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": message_id or new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage,
    }
