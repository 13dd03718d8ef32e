"""OpenAI chat request -> Anthropic Messages request.

Anthropic keeps the system prompt outside the messages, wants tool results as user
content blocks, requires `max_tokens`, and takes images as base64 or URL sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aistrale_common.errors import InvalidRequest
from aistrale_router.providers.openai_format import (
    arguments_object,
    content_parts,
    max_tokens,
    parse_data_url,
    require_single_choice,
    stop_list,
    text_of,
)

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires the field; OpenAI clients often omit it


def messages_body(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    require_single_choice(body, "anthropic")
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") not in (None, "text"):
        # Silently answering free text to a client that asked for JSON would be worse.
        message = "anthropic models do not support response_format"
        raise InvalidRequest(message, param="response_format")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages must be a non-empty list", param="messages")
    system, turns = _split_system(messages)
    out: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens(body) or DEFAULT_MAX_TOKENS,
        "messages": _merge_turns([_turn(m) for m in turns]),
    }
    if system:
        out["system"] = system
    out.update(_sampling(body))
    out.update(_tools(body))
    return out


def _split_system(messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            raise InvalidRequest("each message must be an object", param="messages")
        if message.get("role") in ("system", "developer"):
            system.append(text_of(message.get("content"), "system"))
        else:
            turns.append(message)
    return "\n\n".join(system), turns


def _turn(message: Mapping[str, Any]) -> dict[str, Any]:
    role = message.get("role")
    if role == "user":
        return {
            "role": "user",
            "content": [_user_block(p) for p in content_parts(message.get("content"))],
        }
    if role == "assistant":
        return {"role": "assistant", "content": _assistant_blocks(message)}
    if role == "tool":
        result = {
            "type": "tool_result",
            "tool_use_id": str(message.get("tool_call_id") or ""),
            "content": text_of(message.get("content"), "tool"),
        }
        return {"role": "user", "content": [result]}
    raise InvalidRequest(f"Unsupported message role {role!r}", param="messages")


def _user_block(part: Mapping[str, Any]) -> dict[str, Any]:
    if part.get("type") == "text":
        return {"type": "text", "text": str(part.get("text", ""))}
    if part.get("type") == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        data = parse_data_url(url)
        if data is None:
            return {"type": "image", "source": {"type": "url", "url": url}}
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": data[0], "data": data[1]},
        }
    raise InvalidRequest(f"anthropic does not accept {part.get('type')!r} parts", param="messages")


def _assistant_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = text_of(message.get("content"), "assistant")
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": str(call.get("id", "")),
                "name": str(function.get("name", "")),
                "input": arguments_object(function.get("arguments")),
            }
        )
    return blocks


def _merge_turns(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive same-role turns become one (parallel tool results must share a turn)."""
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append({"role": turn["role"], "content": list(turn["content"])})
    return merged


def _sampling(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("stream", "stream")):
        if body.get(ours) is not None:
            out[theirs] = body[ours]
    stops = stop_list(body)
    if stops:
        out["stop_sequences"] = stops
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}
    return out


def _tools(body: Mapping[str, Any]) -> dict[str, Any]:
    tools = body.get("tools") or []
    if not tools:
        return {}
    out: dict[str, Any] = {"tools": [_tool(t) for t in tools]}
    choice = _tool_choice(body.get("tool_choice"))
    if body.get("parallel_tool_calls") is False:
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None:
        out["tool_choice"] = choice
    return out


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise InvalidRequest("only function tools are supported", param="tools")
    function = tool.get("function") or {}
    out = {
        "name": str(function.get("name", "")),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = str(function["description"])
    return out


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        return {"type": "tool", "name": str((choice.get("function") or {}).get("name", ""))}
    mapping = {"auto": "auto", "required": "any", "none": "none"}
    if choice not in mapping:
        raise InvalidRequest(f"Unsupported tool_choice {choice!r}", param="tool_choice")
    return {"type": mapping[choice]}
