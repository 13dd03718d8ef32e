"""An Anthropic Messages body as an OpenAI chat body."""

from __future__ import annotations

from typing import Any

import orjson

from aistrale_common.errors import InvalidRequest
from aistrale_router.protocols.base import require

# Sampling fields both protocols name alike. `top_k` is not OpenAI's: dropped, as the
# chat path's OpenAI deployments would refuse it.
_SAME = ("temperature", "top_p")
_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}


def chat_body(body: dict[str, Any], *, counting: bool = False) -> dict[str, Any]:
    """`counting`: a count_tokens body, which names no max_tokens."""
    max_tokens = body.get("max_tokens", 1 if counting else None)
    if max_tokens is None:
        raise InvalidRequest("max_tokens: Field required", param="max_tokens")
    messages = require(body.get("messages"), list, "messages")
    chat: dict[str, Any] = {
        "model": body.get("model"),
        "messages": _system(body.get("system")) + _messages(messages),
        "max_tokens": max_tokens,
    }
    chat.update({name: body[name] for name in _SAME if body.get(name) is not None})
    stops = body.get("stop_sequences")
    if stops is not None:
        chat["stop"] = require(stops, list, "stop_sequences")
    if body.get("tools"):
        chat["tools"] = [_tool(t) for t in require(body["tools"], list, "tools")]
    if body.get("tool_choice") is not None:
        chat.update(_tool_choice(body["tool_choice"]))
    user = require(body.get("metadata") or {}, dict, "metadata").get("user_id")
    if isinstance(user, str):
        chat["user"] = user
    if body.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}  # message_delta carries usage
    return chat


def _system(system: Any) -> list[dict[str, Any]]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    blocks = require(system, list, "system")
    return [{"role": "system", "content": "".join(_text(b, "system") for b in blocks)}]


def _messages(messages: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        message = require(message, dict, f"messages.{i}")
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant"):
            raise InvalidRequest(
                f"messages.{i}.role: Input should be 'user' or 'assistant'", param="messages"
            )
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        blocks = require(content, list, f"messages.{i}.content")
        out += _assistant(blocks, i) if role == "assistant" else _user(blocks, i)
    return out


def _user(blocks: list[Any], i: int) -> list[dict[str, Any]]:
    """Tool results become `tool` messages, ahead of the user's other content (chat wants
    them right after the assistant's tool calls)."""
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = require(block, dict, f"messages.{i}.content").get("type")
        if kind == "tool_result":
            results.append(_tool_result(block, i))
        elif kind == "text":
            parts.append({"type": "text", "text": _text(block, f"messages.{i}")})
        elif kind == "image":
            parts.append(_image(block, i))
        elif kind not in ("thinking", "redacted_thinking"):
            raise InvalidRequest(f"messages.{i}: unsupported content block '{kind}'.")
    if parts:
        results.append({"role": "user", "content": parts})
    return results


def _assistant(blocks: list[Any], i: int) -> list[dict[str, Any]]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        kind = require(block, dict, f"messages.{i}.content").get("type")
        if kind == "text":
            text.append(_text(block, f"messages.{i}"))
        elif kind == "tool_use":
            calls.append(_tool_call(block, i))
        elif kind not in ("thinking", "redacted_thinking"):
            raise InvalidRequest(f"messages.{i}: unsupported content block '{kind}'.")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _text(block: Any, where: str) -> str:
    if not isinstance(block, dict) or block.get("type") != "text":
        raise InvalidRequest(f"{where}: only text blocks are allowed here.")
    return str(require(block.get("text"), str, f"{where}.text"))


def _image(block: dict[str, Any], i: int) -> dict[str, Any]:
    source = require(block.get("source"), dict, f"messages.{i}.source")
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif source.get("type") == "url":
        url = str(require(source.get("url"), str, f"messages.{i}.source.url"))
    else:
        raise InvalidRequest(f"messages.{i}: image source must be base64 or url.")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_call(block: dict[str, Any], i: int) -> dict[str, Any]:
    arguments = orjson.dumps(block.get("input") or {}).decode()
    name = require(block.get("name"), str, f"messages.{i}.name")
    call_id = require(block.get("id"), str, f"messages.{i}.id")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_result(block: dict[str, Any], i: int) -> dict[str, Any]:
    content = block.get("content")
    if isinstance(content, list):
        blocks = [require(b, dict, f"messages.{i}.content") for b in content]
        content = "".join(_text(b, f"messages.{i}") for b in blocks if b.get("type") == "text")
    text = content if isinstance(content, str) else ""
    if block.get("is_error"):
        text = f"Error: {text}"
    call_id = require(block.get("tool_use_id"), str, f"messages.{i}.tool_use_id")
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _tool(tool: Any) -> dict[str, Any]:
    tool = require(tool, dict, "tools")
    if tool.get("type") not in (None, "custom"):
        raise InvalidRequest(f"tools: the tool type '{tool['type']}' is not supported.")
    function = {
        "name": require(tool.get("name"), str, "tools.name"),
        "parameters": tool.get("input_schema") or {"type": "object"},
    }
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> dict[str, Any]:
    choice = require(choice, dict, "tool_choice")
    kind = choice.get("type")
    out: dict[str, Any] = {}
    if kind == "tool":
        name = require(choice.get("name"), str, "tool_choice.name")
        out["tool_choice"] = {"type": "function", "function": {"name": name}}
    elif isinstance(kind, str) and kind in _TOOL_CHOICE:
        out["tool_choice"] = _TOOL_CHOICE[kind]
    else:
        raise InvalidRequest("tool_choice.type must be auto, any, tool or none.")
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out
