"""A `chat.completion` -> the Response object (`object: "response"`).

The assistant's text is one `message` output item with one `output_text` part; each tool
call is a `function_call` item whose `call_id` is the chat tool call's id, so the client's
`function_call_output` finds it again. A `length` finish is `incomplete`
(`max_output_tokens`), as OpenAI reports it.
"""

from __future__ import annotations

from typing import Any

import orjson

from aistrale_common.errors import UpstreamFailed
from aistrale_router.protocols.responses.request import ResponsesCall, new_id

Item = dict[str, Any]
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def response_object(
    call: ResponsesCall,
    status: str,
    output: list[Item],
    usage: dict[str, Any] | None,
    *,
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": call.id,
        "object": "response",
        "created_at": call.created_at,
        "status": status,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": call.model,
        "output": output,
        "usage": usage,
        "store": call.store,
        **call.echo,
    }


def message_item(text: str, item_id: str | None = None, status: str = "completed") -> Item:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {
        "id": item_id or new_id("msg"),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [part],
    }


def call_item(call_id: str, name: str, arguments: str, item_id: str | None = None) -> Item:
    return {
        "id": item_id or new_id("fc"),
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def usage_object(usage: Any) -> dict[str, Any] | None:
    """Chat usage (`prompt_tokens`, ...) -> Responses usage (`input_tokens`, ...)."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    details = usage.get("prompt_tokens_details") or {}
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": details.get("cached_tokens") or 0,
            "cache_write_tokens": 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def from_chat(call: ResponsesCall, chat: bytes) -> dict[str, Any]:
    """Raises UpstreamFailed (502) for a body that is not a chat completion: an
    OpenAI-format server's answer reaches us as it sent it."""
    try:
        completion = orjson.loads(chat)
        return _translated(call, completion, completion["choices"][0])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        raise UpstreamFailed("The model's server sent an answer we could not read.") from None


def _translated(call: ResponsesCall, completion: Any, choice: Any) -> dict[str, Any]:
    message = choice["message"]
    output: list[Item] = []
    if message.get("content"):
        output.append(message_item(str(message["content"])))
    for tool_call in message.get("tool_calls") or []:
        function = tool_call.get("function") or {}
        call_id = tool_call.get("id") or new_id("call")
        output.append(call_item(call_id, function.get("name", ""), function.get("arguments") or ""))
    incomplete = _INCOMPLETE.get(choice.get("finish_reason") or "")
    status = "incomplete" if incomplete else "completed"
    usage = usage_object(completion.get("usage"))
    return response_object(call, status, output, usage, incomplete=incomplete)
