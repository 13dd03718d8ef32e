"""An Anthropic Messages body -> an OpenAI chat-completions body (the gateway's request).

Content blocks map one to one: `text` -> text part, `image` -> `image_url` (a data URL for
base64), `tool_use` -> the assistant's `tool_calls`, `tool_result` -> a `tool` message
(placed before the rest of that user turn, as chat completions wants tool answers right
after the call). `max_tokens` is required, as Anthropic requires it; it is the chat body's
`max_tokens`, so the budget reserves from it.

What chat has no form for but Anthropic itself serves (a server tool, a `document` block,
an image in a tool result, a server tool's blocks in the history) is left out of the chat
body and named in `MessagesCall.native_only`: such a request goes only to an Anthropic
deployment, which gets the client's body as it is (providers/anthropic_native.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from aistrale_common.errors import InvalidRequest

_SAMPLING = (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"))


@dataclass(frozen=True, slots=True)
class MessagesCall:
    model: str  # as the client asked it: Anthropic's answer names it
    stop_sequences: tuple[str, ...]
    native_only: tuple[str, ...] = ()  # params a translation would drop (module docstring)


def chat_body(body: dict[str, Any]) -> tuple[dict[str, Any], MessagesCall]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required", param="model")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequest("max_tokens: a positive integer is required", param="max_tokens")
    stops = _stop_sequences(body.get("stop_sequences"))
    only: list[str] = []
    chat: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": _system(body.get("system")) + _messages(body.get("messages"), only),
    }
    if stops:
        chat["stop"] = list(stops)
    for theirs, ours in _SAMPLING:
        if body.get(theirs) is not None:
            chat[ours] = body[theirs]
    if body.get("tools") is not None:
        tools = _list(body["tools"], "tools")
        only.extend(f"tools.{i}" for i, t in enumerate(tools) if _server_tool(t))
        kept = [_tool(t, i) for i, t in enumerate(tools) if not _server_tool(t)]
        if kept:
            chat["tools"] = kept
    if body.get("tool_choice") is not None:
        chat.update(_tool_choice(body["tool_choice"]))
    if body.get("stream") is not None:
        if not isinstance(body["stream"], bool):
            raise InvalidRequest("stream: Input should be a valid boolean", param="stream")
        chat["stream"] = body["stream"]
    return chat, MessagesCall(model, stops, tuple(only))


def _list(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{param}: Input should be a valid list", param=param)
    return value


def _stop_sequences(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = _list(value, "stop_sequences")
    if not all(isinstance(s, str) and s for s in stops):
        raise InvalidRequest("stop_sequences: non-empty strings only", param="stop_sequences")
    return tuple(stops)


def _system(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "system", "content": value}] if value else []
    blocks = _list(value, "system")
    texts = [_text_of(b, f"system.{i}") for i, b in enumerate(blocks)]
    return [{"role": "system", "content": "\n\n".join(texts)}] if texts else []


def _text_of(block: Any, param: str) -> str:
    if not isinstance(block, dict) or block.get("type") != "text":
        raise InvalidRequest(f"{param}: a text block is required", param=param)
    text = block.get("text")
    if not isinstance(text, str):
        raise InvalidRequest(f"{param}.text: Field required", param=f"{param}.text")
    return text


def _native_block(block: Any) -> bool:
    """A block of a kind Anthropic serves that chat has no form for (`document`,
    `search_result`, `server_tool_use`, `web_search_tool_result`, ...): any object whose
    `type` is a name this module does not translate."""
    if not isinstance(block, dict):
        return False
    kind = block.get("type")
    return isinstance(kind, str) and bool(kind) and kind not in _TRANSLATED


_TRANSLATED = frozenset(
    {"text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)


def _server_tool(tool: Any) -> bool:
    """One of Anthropic's own tools (`{"type": "web_search_20250305", "name": ...}`): a
    typed tool without an input schema, run by Anthropic, not by the client."""
    if not isinstance(tool, dict) or "input_schema" in tool:
        return False
    kind = tool.get("type")
    return isinstance(kind, str) and kind not in ("", "custom")


def _messages(value: Any, only: list[str]) -> list[dict[str, Any]]:
    if value is None:
        raise InvalidRequest("messages: Field required", param="messages")
    messages = _list(value, "messages")
    if not messages:
        raise InvalidRequest("messages: at least one message is required", param="messages")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        out.extend(_message(message, f"messages.{i}", only))
    return out


def _message(message: Any, param: str, only: list[str]) -> list[dict[str, Any]]:
    if not isinstance(message, dict):
        raise InvalidRequest(f"{param}: Input should be an object", param=param)
    role, content = message.get("role"), message.get("content")
    if role not in ("user", "assistant"):
        raise InvalidRequest(f"{param}.role: 'user' or 'assistant'", param=f"{param}.role")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = _list(content, f"{param}.content")
    if role == "assistant":
        return _assistant(blocks, param, only)
    return _user(blocks, param, only)


def _user(blocks: list[Any], param: str, only: list[str]) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for i, block in enumerate(blocks):
        where = f"{param}.content.{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if _native_block(block):
            only.append(where)
        elif kind == "tool_result":
            tools.append(_tool_result(block, where, only))
        elif kind == "image":
            parts.append(_image(block, where))
        else:
            parts.append({"type": "text", "text": _text_of(block, where)})
    return tools + ([{"role": "user", "content": parts}] if parts else [])


def _assistant(blocks: list[Any], param: str, only: list[str]) -> list[dict[str, Any]]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for i, block in enumerate(blocks):
        where = f"{param}.content.{i}"
        if _native_block(block):
            only.append(where)
        elif isinstance(block, dict) and block.get("type") == "tool_use":
            calls.append(_tool_use(block, where))
        elif isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking"):
            continue  # the model's own reasoning: nothing a chat upstream takes back
        else:
            texts.append(_text_of(block, where))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _tool_use(block: dict[str, Any], param: str) -> dict[str, Any]:
    call_id, name, args = block.get("id"), block.get("name"), block.get("input", {})
    if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(args, dict):
        raise InvalidRequest(f"{param}: tool_use needs id, name and an input object", param=param)
    arguments = orjson.dumps(args).decode()
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_result(block: dict[str, Any], param: str, only: list[str]) -> dict[str, Any]:
    call_id, content = block.get("tool_use_id"), block.get("content", "")
    if not isinstance(call_id, str):
        raise InvalidRequest(f"{param}.tool_use_id: Field required", param=f"{param}.tool_use_id")
    if isinstance(content, list):
        # A chat tool message holds text only: an image (or document) in it is native-only.
        kept = [(i, b) for i, b in enumerate(content) if not _image_or_native(b)]
        only.extend(f"{param}.content.{i}" for i, b in enumerate(content) if _image_or_native(b))
        content = "".join(_text_of(b, f"{param}.content.{i}") for i, b in kept)
    elif not isinstance(content, str):
        raise InvalidRequest(f"{param}.content: a string or text blocks", param=f"{param}.content")
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _image_or_native(block: Any) -> bool:
    return _native_block(block) or (isinstance(block, dict) and block.get("type") == "image")


def _image(block: dict[str, Any], param: str) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64":
        media, data = source.get("media_type"), source.get("data")
        if isinstance(media, str) and isinstance(data, str):
            return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if (
        isinstance(source, dict)
        and source.get("type") == "url"
        and isinstance(source.get("url"), str)
    ):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise InvalidRequest(f"{param}.source: a base64 or url image source", param=f"{param}.source")


def _tool(tool: Any, index: int) -> dict[str, Any]:
    param = f"tools.{index}"
    if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
        raise InvalidRequest(f"{param}.name: Field required", param=f"{param}.name")
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{param}.input_schema: Field required", param=f"{param}.input_schema")
    function: dict[str, Any] = {"name": tool["name"], "parameters": schema}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> dict[str, Any]:
    kind = choice.get("type") if isinstance(choice, dict) else None
    out: dict[str, Any] = {}
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool" and isinstance(choice.get("name"), str):
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise InvalidRequest(
            "tool_choice: auto, any, none or tool (with a name)", param="tool_choice"
        )
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out
