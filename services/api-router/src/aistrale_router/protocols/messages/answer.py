"""An OpenAI chat answer as an Anthropic Message; chat errors in Anthropic's shape."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from aistrale_common.errors import AistraleError
from aistrale_router.protocols.chat import first_choice, obj, objects, text_of, tokens

# The `type` Anthropic's SDK reads for each status (it picks the exception by status).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def stop_reason(finish: Any, matched: Any, stops: list[str]) -> tuple[str, str | None]:
    """vLLM names the stop string that ended the answer (`stop_reason`); other servers
    only say `stop`, which reads as the turn's end."""
    if finish == "length":
        return "max_tokens", None
    if finish == "tool_calls":
        return "tool_use", None
    if isinstance(matched, str) and matched in stops:
        return "stop_sequence", matched
    return "end_turn", None


def message(chat: dict[str, Any], model: str, stops: list[str]) -> dict[str, Any]:
    choice = first_choice(chat)
    reply = obj(choice.get("message"))
    content: list[dict[str, Any]] = []
    if text_of(reply.get("content")):
        content.append({"type": "text", "text": reply["content"]})
    for call in objects(reply.get("tool_calls")):
        content.append(tool_use(call))
    reason, sequence = stop_reason(choice.get("finish_reason"), choice.get("stop_reason"), stops)
    usage = chat.get("usage")
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": {
            "input_tokens": tokens(usage, "prompt_tokens"),
            "output_tokens": tokens(usage, "completion_tokens"),
        },
    }


def tool_use(call: dict[str, Any]) -> dict[str, Any]:
    function = obj(call.get("function"))
    return {
        "type": "tool_use",
        "id": text_of(call.get("id")) or f"toolu_{uuid.uuid4().hex}",
        "name": text_of(function.get("name")),
        "input": tool_input(function.get("arguments")),
    }


def tool_input(arguments: Any) -> dict[str, Any]:
    """A model's arguments are meant to be a JSON object; anything else is kept whole
    under one key rather than lost."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except (orjson.JSONDecodeError, TypeError):
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def error(exc: AistraleError) -> bytes:
    """The router's error in Anthropic's shape: the SDK picks its exception by the status,
    the `type` says the same in Anthropic's words."""
    return orjson.dumps(error_body(exc.status, exc.message))
