"""OpenAI chat request -> Gemini `generateContent` request.

Gemini calls the assistant `model`, keeps the system prompt in `systemInstruction`,
answers tool calls with `functionResponse` parts that name the function (not the call
id, so we recover the name from the conversation), and takes images as inline data.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from typing import Any

from aistrale_common.errors import InvalidRequest
from aistrale_router.providers.openai_format import (
    arguments_object,
    content_parts,
    max_tokens,
    parse_data_url,
    stop_list,
    text_of,
)

_SAMPLING = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("n", "candidateCount"),
    ("seed", "seed"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
)
# Separates a tool call id from the Gemini thought signature it carries ("~" is not base64).
SIGNATURE_MARK = "~ts~"
_TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


def generate_body(body: Mapping[str, Any]) -> dict[str, Any]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages must be a non-empty list", param="messages")
    system = [text_of(m.get("content"), "system") for m in messages if _is_system(m)]
    names = _tool_names(messages)
    turns = [_turn(m, names) for m in messages if not _is_system(m)]
    out: dict[str, Any] = {"contents": _merge(turns)}
    if system:
        out["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = _generation_config(body)
    if config:
        out["generationConfig"] = config
    out.update(_tools(body))
    return out


def _is_system(message: Any) -> bool:
    if not isinstance(message, dict):
        raise InvalidRequest("each message must be an object", param="messages")
    return message.get("role") in ("system", "developer")


def _tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """tool_call_id -> function name, from the assistant turns that made the calls."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[str(call.get("id"))] = str((call.get("function") or {}).get("name", ""))
    return names


def _turn(message: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    role = message.get("role")
    if role == "user":
        return {"role": "user", "parts": [_part(p) for p in content_parts(message.get("content"))]}
    if role == "assistant":
        return {"role": "model", "parts": _model_parts(message)}
    if role == "tool":
        return {"role": "user", "parts": [_function_response(message, names)]}
    raise InvalidRequest(f"Unsupported message role {role!r}", param="messages")


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    if part.get("type") == "text":
        return {"text": str(part.get("text", ""))}
    if part.get("type") == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        data = parse_data_url(url)
        if data is not None:
            return {"inlineData": {"mimeType": data[0], "data": data[1]}}
        mime = mimetypes.guess_type(url)[0] or "image/jpeg"
        return {"fileData": {"fileUri": url, "mimeType": mime}}
    raise InvalidRequest(f"gemini does not accept {part.get('type')!r} parts", param="messages")


def _model_parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    text = text_of(message.get("content"), "assistant")
    if text:
        parts.append({"text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        args = arguments_object(function.get("arguments"))
        part: dict[str, Any] = {
            "functionCall": {"name": str(function.get("name", "")), "args": args}
        }
        _, mark, signature = str(call.get("id", "")).partition(SIGNATURE_MARK)
        if mark:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _function_response(message: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    call_id = str(message.get("tool_call_id") or "")
    if call_id not in names:
        raise InvalidRequest("tool message answers an unknown tool_call_id", param="messages")
    text = text_of(message.get("content"), "tool")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"content": text}
    return {"functionResponse": {"name": names[call_id], "response": response}}


def _merge(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gemini wants all parallel function responses in one turn: merge same-role runs."""
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["parts"].extend(turn["parts"])
        else:
            merged.append({"role": turn["role"], "parts": list(turn["parts"])})
    return merged


def _generation_config(body: Mapping[str, Any]) -> dict[str, Any]:
    config = {theirs: body[ours] for ours, theirs in _SAMPLING if body.get(ours) is not None}
    if max_tokens(body) is not None:
        config["maxOutputTokens"] = max_tokens(body)
    if stop_list(body):
        config["stopSequences"] = stop_list(body)
    config.update(_response_format(body.get("response_format")))
    return config


def _response_format(fmt: Any) -> dict[str, Any]:
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return {}
    if fmt.get("type") == "json_object":
        return {"responseMimeType": "application/json"}
    schema = (fmt.get("json_schema") or {}).get("schema")
    if fmt.get("type") == "json_schema" and isinstance(schema, dict):
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    raise InvalidRequest("Unsupported response_format", param="response_format")


def _tools(body: Mapping[str, Any]) -> dict[str, Any]:
    tools = body.get("tools") or []
    if not tools:
        return {}
    declarations = [_declaration(t) for t in tools]
    out: dict[str, Any] = {"tools": [{"functionDeclarations": declarations}]}
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = str((choice.get("function") or {}).get("name", ""))
        config = {"mode": "ANY", "allowedFunctionNames": [name]}
        out["toolConfig"] = {"functionCallingConfig": config}
    elif choice is not None:
        if choice not in _TOOL_MODES:
            raise InvalidRequest(f"Unsupported tool_choice {choice!r}", param="tool_choice")
        out["toolConfig"] = {"functionCallingConfig": {"mode": _TOOL_MODES[choice]}}
    return out


def _declaration(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise InvalidRequest("only function tools are supported", param="tools")
    function = tool.get("function") or {}
    out: dict[str, Any] = {"name": str(function.get("name", ""))}
    if function.get("description"):
        out["description"] = str(function["description"])
    if function.get("parameters"):
        # Full JSON Schema (the `parameters` field only takes Gemini's OpenAPI subset).
        out["parametersJsonSchema"] = function["parameters"]
    return out
