"""Building blocks for the OpenAI shapes every adapter emits.

Adapters produce plain dicts (the router serialises them once); these helpers keep the
field set identical across providers so that every output parses as the `openai` SDK's
`ChatCompletion` / `ChatCompletionChunk`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aistrale_common.errors import InvalidRequest, UpstreamFailed
from aistrale_router.usage import Usage

JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
SSE_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads_object(body: bytes | str, what: str) -> dict[str, Any]:
    """A provider body that must be a JSON object; anything else is the provider's fault."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise UpstreamFailed(f"{what} returned a body that is not JSON") from exc
    if not isinstance(value, dict):
        raise UpstreamFailed(f"{what} returned JSON that is not an object")
    return value


def completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}" if request_id else f"chatcmpl-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def completion(
    request_id: str, model: str, choices: list[dict[str, Any]], usage: Usage
) -> dict[str, Any]:
    return {
        "id": completion_id(request_id),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": choices,
        "usage": usage.as_openai(),
    }


def message_choice(
    index: int, text: str | None, tool_calls: list[dict[str, Any]], finish: str
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"index": index, "message": message, "finish_reason": finish, "logprobs": None}


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


class ChunkFactory:
    """Stamps id/created/model on every chunk of one stream, as OpenAI does."""

    def __init__(self, request_id: str, model: str) -> None:
        self.id = completion_id(request_id)
        self.created = now()
        self.model = model

    def chunk(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": usage.as_openai() if usage is not None else None,
        }

    def delta(self, delta: dict[str, Any], index: int = 0) -> dict[str, Any]:
        return self.chunk([{"index": index, "delta": delta, "finish_reason": None}])

    def finish(self, reason: str, index: int = 0) -> dict[str, Any]:
        return self.chunk([{"index": index, "delta": {}, "finish_reason": reason}])

    def usage(self, usage: Usage) -> dict[str, Any]:
        """The last chunk: empty choices, the usage (what `include_usage` asks for)."""
        return self.chunk([], usage)


def usage_from_openai(raw: Mapping[str, Any] | None) -> Usage:
    """OpenAI-format usage (also Groq's, vLLM's, TGI's) as our Usage; missing parts are 0."""
    if not raw:
        return Usage()
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
    )


def text_of(content: Any, role: str) -> str:
    """The text of a message whose content may be a string or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise InvalidRequest(f"{role} messages may only contain text parts")
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise InvalidRequest(f"Invalid content in a {role} message", param="messages")


def content_parts(content: Any) -> list[dict[str, Any]]:
    """User content normalised to a list of OpenAI parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return list(content)
    raise InvalidRequest("Invalid message content", param="messages")


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:image/png;base64,AAAA` -> ("image/png", "AAAA"); None for other URLs."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    media_type, _, encoding = head.partition(";")
    if not sep or encoding != "base64" or not media_type:
        raise InvalidRequest("Image data URLs must be base64 encoded", param="messages")
    return media_type, data


def arguments_object(arguments: Any) -> dict[str, Any]:
    """A tool call's `arguments` JSON string as the object providers want."""
    if isinstance(arguments, dict):
        return arguments
    bad = InvalidRequest("tool_calls arguments must be a JSON object", param="messages")
    try:
        value = json.loads(arguments or "{}")
    except ValueError as exc:
        raise bad from exc
    if not isinstance(value, dict):
        raise bad
    return value


def max_tokens(body: Mapping[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return int(value) if value is not None else None


def stop_list(body: Mapping[str, Any]) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    return [stop] if isinstance(stop, str) else [str(s) for s in stop]


def require_single_choice(body: Mapping[str, Any], provider: str) -> None:
    if int(body.get("n") or 1) != 1:
        raise InvalidRequest(f"{provider} models support only n=1", param="n")
