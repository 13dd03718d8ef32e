"""A Responses request -> the chat-completions body the gateway forwards.

`input` (a string or items), `instructions`, `max_output_tokens`, `temperature`, `top_p`,
function `tools` and `tool_choice`, `text.format` (onto `response_format`), `stream`,
`previous_response_id` (the stored conversation put before `input`). The rest of the
request is echoed in the response object, as OpenAI does.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aistrale_common.errors import InvalidRequest
from aistrale_router.protocols.responses.items import Item, chat_messages, input_items
from aistrale_router.protocols.responses.store import StoredResponse

# Echoed in the response object when the client gave them; OpenAI's defaults otherwise.
_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "temperature": 1.0,
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "text": {"format": {"type": "text"}},
    "user": None,
}


@dataclass(slots=True)
class ResponsesCall:
    """One Responses request as the translation back needs it."""

    id: str
    org_id: str
    model: str
    store: bool
    echo: dict[str, Any]  # the request's fields the response object repeats
    history: list[Item]  # the conversation so far, this request's input last
    created_at: int = field(default_factory=lambda: int(time.time()))


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def chat_body(
    body: dict[str, Any], call: ResponsesCall, instructions: str | None
) -> dict[str, Any]:
    messages = chat_messages(call.history)
    if instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    chat: dict[str, Any] = {"model": call.model, "messages": messages}
    stream = body.get("stream")
    if stream is not None:
        if not isinstance(stream, bool):
            raise InvalidRequest("'stream' must be a boolean.", param="stream")
        chat["stream"] = stream
    _copy_number(body, chat, "temperature", 0.0, 2.0)
    _copy_number(body, chat, "top_p", 0.0, 1.0)
    max_output = body.get("max_output_tokens")
    if max_output is not None:
        if not isinstance(max_output, int) or isinstance(max_output, bool) or max_output < 1:
            raise InvalidRequest(
                "'max_output_tokens' must be a positive integer.", param="max_output_tokens"
            )
        chat["max_tokens"] = max_output  # what admission reserves against the budget
    chat.update(_tools(body))
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if isinstance(body.get("user"), str):
        chat["user"] = body["user"]
    return chat


def new_call(
    body: dict[str, Any], org_id: str, previous: StoredResponse | None
) -> tuple[ResponsesCall, str | None]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("You must provide a model parameter.", param="model")
    if body.get("input") is None:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("'instructions' must be a string.", param="instructions")
    store = body.get("store", True)
    if not isinstance(store, bool):
        raise InvalidRequest("'store' must be a boolean.", param="store")
    if body.get("background") is True:
        raise InvalidRequest("Background responses are not supported.", param="background")
    before = previous.history + previous.output if previous is not None else []
    echo = {name: body.get(name, default) for name, default in _DEFAULTS.items()}
    call = ResponsesCall(
        id=new_id("resp"),
        org_id=org_id,
        model=model,
        store=store,
        echo=echo,
        history=before + input_items(body["input"]),
    )
    return call, instructions


def _copy_number(
    body: dict[str, Any], chat: dict[str, Any], name: str, low: float, high: float
) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be a number from {low:g} to {high:g}.", param=name)
    chat[name] = value


def _tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    out: dict[str, Any] = {}
    if tools:
        if not isinstance(tools, list):
            raise InvalidRequest("'tools' must be an array.", param="tools")
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
    choice = body.get("tool_choice")
    if choice is not None:
        out["tool_choice"] = _tool_choice(choice)
    parallel = body.get("parallel_tool_calls")
    if isinstance(parallel, bool) and tools:
        out["parallel_tool_calls"] = parallel
    return out


def _tool(tool: Any, index: int) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise InvalidRequest(
            f"Tools of type '{kind}' are not supported; only 'function' tools are.",
            param=f"tools[{index}].type",
        )
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("A function tool needs a 'name'.", param=f"tools[{index}].name")
    function = {"name": name, "parameters": tool.get("parameters") or {"type": "object"}}
    for optional in ("description", "strict"):
        if tool.get(optional) is not None:
            function[optional] = tool[optional]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise InvalidRequest(
        "'tool_choice' must be auto, none, required or a function.", param="tool_choice"
    )


def _response_format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if fmt is None or kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema" and isinstance(fmt.get("schema"), dict) and fmt.get("name"):
        schema = {"name": fmt["name"], "schema": fmt["schema"]}
        for optional in ("description", "strict"):
            if fmt.get(optional) is not None:
                schema[optional] = fmt[optional]
        return {"type": "json_schema", "json_schema": schema}
    raise InvalidRequest(
        "'text.format' must be text, json_object, or json_schema with a name and a schema.",
        param="text.format",
    )
