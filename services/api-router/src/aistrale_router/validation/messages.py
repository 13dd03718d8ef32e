"""`messages` of a chat request against OpenAI's schema: what it is, not what a model
makes of it. A malformed list is refused here with the exact `param`
(`messages[2].content`), instead of reaching an upstream that answers with a 500 or its
own traceback."""

from __future__ import annotations

from typing import Any

from aistrale_common.errors import InvalidRequest

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_PLAIN = frozenset({"system", "developer", "user", "assistant"})  # no field required but content
# Content part types per role: OpenAI's, plus vLLM's media extensions for user messages.
PARTS: dict[str, frozenset[str]] = {
    "system": frozenset({"text"}),
    "developer": frozenset({"text"}),
    "user": frozenset(
        {"text", "image_url", "input_audio", "file", "audio_url", "video_url", "image_embeds"}
    ),
    "assistant": frozenset({"text", "refusal"}),
    "tool": frozenset({"text"}),
    "function": frozenset({"text"}),
}
# A part's payload field and the type it must have.
PAYLOAD: dict[str, tuple[str, type]] = {
    "text": ("text", str),
    "refusal": ("refusal", str),
    "image_url": ("image_url", dict),
    "input_audio": ("input_audio", dict),
    "file": ("file", dict),
}


def validate_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise _wrong_type("messages", "an array of message objects", messages)
    if not messages:
        raise InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            param="messages",
        )
    for index, message in enumerate(messages):
        if not _plain(message):
            _message(message, f"messages[{index}]")


def _plain(message: Any) -> bool:
    """The common message, `{"role": ..., "content": "text"}`: valid as it stands."""
    return (
        type(message) is dict
        and len(message) == 2
        and message.get("role") in _PLAIN
        and type(message.get("content")) is str
    )


def _message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        raise _wrong_type(where, "an object", message)
    role = message.get("role")
    if role is None:
        raise InvalidRequest(f"Missing required parameter: '{where}.role'.", param=f"{where}.role")
    if role not in ROLES:
        raise InvalidRequest(
            f"Invalid value for '{where}.role': {_show(role)}. "
            f"Supported values are: {', '.join(repr(r) for r in ROLES)}.",
            param=f"{where}.role",
        )
    _content(message, role, where)
    _string(message, "name", where, required=role == "function")
    if role == "tool":
        _string(message, "tool_call_id", where, required=True)
    if role == "assistant":
        _tool_calls(message.get("tool_calls"), f"{where}.tool_calls")


def _content(message: dict[str, Any], role: str, where: str) -> None:
    content, param = message.get("content"), f"{where}.content"
    if content is None:
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        if role == "function" and "content" in message:
            return
        raise InvalidRequest(f"Missing required parameter: '{param}'.", param=param)
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _wrong_type(param, "a string or an array of content parts", content)
    if not content:
        raise InvalidRequest(
            f"Invalid '{param}': empty array. Expected an array with minimum length 1.",
            param=param,
        )
    allowed = PARTS[role]
    for index, part in enumerate(content):
        _part(part, allowed, f"{param}[{index}]")


def _part(part: Any, allowed: frozenset[str], where: str) -> None:
    if not isinstance(part, dict):
        raise _wrong_type(where, "an object", part)
    kind = part.get("type")
    if kind is None:
        raise InvalidRequest(f"Missing required parameter: '{where}.type'.", param=f"{where}.type")
    if kind not in allowed:
        raise InvalidRequest(
            f"Invalid value for '{where}.type': {_show(kind)}. "
            f"Supported values are: {', '.join(repr(p) for p in sorted(allowed))}.",
            param=f"{where}.type",
        )
    field, expected = PAYLOAD.get(kind, ("", object))
    if not field:
        return  # a vLLM media extension: its shape is the server's to check
    value = part.get(field)
    if value is None:
        param = f"{where}.{field}"
        raise InvalidRequest(f"Missing required parameter: '{param}'.", param=param)
    if not isinstance(value, expected):
        raise _wrong_type(f"{where}.{field}", _NAMES[expected], value)
    if kind == "image_url" and isinstance(value, dict):
        _string(value, "url", f"{where}.image_url", required=True)


def _tool_calls(calls: Any, where: str) -> None:
    if calls is None:
        return
    if not isinstance(calls, list):
        raise _wrong_type(where, "an array of tool calls", calls)
    for index, call in enumerate(calls):
        here = f"{where}[{index}]"
        if not isinstance(call, dict):
            raise _wrong_type(here, "an object", call)
        function = call.get("function")
        if not isinstance(function, dict):
            raise _wrong_type(f"{here}.function", "an object", function)
        _string(function, "name", f"{here}.function", required=True)


def _string(holder: dict[str, Any], field: str, where: str, *, required: bool) -> None:
    value = holder.get(field)
    param = f"{where}.{field}"
    if value is None:
        if required:
            raise InvalidRequest(f"Missing required parameter: '{param}'.", param=param)
        return
    if not isinstance(value, str):
        raise _wrong_type(param, "a string", value)


_NAMES: dict[type, str] = {str: "a string", dict: "an object", object: "a value"}
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), "a value")


def _wrong_type(param: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
    )


def _show(value: Any) -> str:
    """A client's value in a message: short, and never a big structure echoed back."""
    return repr(value)[:40] if isinstance(value, str) else _kind(value)
