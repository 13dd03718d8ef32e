"""Responses input items -> chat-completions messages.

A message item becomes a chat message; consecutive `function_call` items become one
assistant message with `tool_calls`; a `function_call_output` becomes a `tool` message.
Items no chat backend could serve are refused (400), never dropped silently.
"""

from __future__ import annotations

from typing import Any

from aistrale_common.errors import InvalidRequest

Item = dict[str, Any]
Message = dict[str, Any]
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "refusal"})


def input_items(value: Any) -> list[Item]:
    """The request's `input`, as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InvalidRequest("'input' must be a string or a non-empty array.", param="input")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidRequest(f"'input[{index}]' must be an object.", param=f"input[{index}]")
    return list(value)


def chat_messages(items: list[Item]) -> list[Message]:
    messages: list[Message] = []
    for index, item in enumerate(items):
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, index))
        elif kind == "function_call":
            _add_call(messages, item, index)
        elif kind == "function_call_output":
            messages.append(_call_output(item, index))
        elif kind == "reasoning":
            continue  # a previous answer's reasoning: chat backends take none back
        else:
            raise InvalidRequest(
                f"Input items of type '{kind}' are not supported.", param=f"input[{index}].type"
            )
    return messages


def _message(item: Item, index: int) -> Message:
    role = item.get("role")
    role = _ROLES.get(role) if isinstance(role, str) else None
    if role is None:
        raise InvalidRequest(
            "'role' must be one of user, assistant, system, developer.",
            param=f"input[{index}].role",
        )
    return {"role": role, "content": _content(item.get("content"), role, index)}


def _content(content: Any, role: str, index: int) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(
            "'content' must be a string or an array.", param=f"input[{index}].content"
        )
    parts = [_part(p, index) for p in content]
    if role != "user" or all(p["type"] == "text" for p in parts):
        return "".join(p.get("text", "") for p in parts)  # only user turns hold images
    return parts


def _part(part: Any, index: int) -> dict[str, Any]:
    param = f"input[{index}].content"
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in _TEXT_PARTS and isinstance(part.get("text", part.get("refusal")), str):
        return {"type": "text", "text": part.get("text", part.get("refusal"))}
    if kind == "input_image" and isinstance(part.get("image_url"), str):
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise InvalidRequest(f"Content parts of type '{kind}' are not supported.", param=param)


def _add_call(messages: list[Message], item: Item, index: int) -> None:
    call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
    if not all(isinstance(v, str) for v in (call_id, name, arguments)):
        raise InvalidRequest(
            "A function_call item needs 'call_id', 'name' and 'arguments' strings.",
            param=f"input[{index}]",
        )
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and "tool_calls" in last:
        last["tool_calls"].append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _call_output(item: Item, index: int) -> Message:
    call_id, output = item.get("call_id"), item.get("output")
    if isinstance(output, list):
        output = "".join(_part(p, index).get("text", "") for p in output)
    if not isinstance(call_id, str) or not isinstance(output, str):
        raise InvalidRequest(
            "A function_call_output item needs 'call_id' and 'output' strings.",
            param=f"input[{index}]",
        )
    return {"role": "tool", "tool_call_id": call_id, "content": output}
