"""The /v1 operations in the router's OpenAPI document (`/v1/openapi.json`, `/v1/docs`).

The hot-path routes are plain Starlette routes served before FastAPI (gateway/front_door.py),
so FastAPI finds no operation to describe: without this the docs page says "No operations
defined in spec!". The bodies are described as far as the gateway reads them; everything
else in OpenAI's request is passed to the model as sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI

Schema = dict[str, Any]

ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string", "example": "invalid_request_error"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"], "example": "model_not_found"},
            },
        }
    },
}
MESSAGE: Schema = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "user", "assistant", "tool"]},
        "content": {"type": ["string", "array", "null"]},
    },
}
_COMMON: Schema = {
    "model": {"type": "string", "description": "a model name of the catalog (GET /v1/models)"},
    "max_tokens": {
        "type": "integer",
        "description": "lowered to what the key's budget can pay for",
    },
    "stream": {"type": "boolean", "description": "server-sent events, chunk by chunk"},
    "temperature": {"type": "number"},
}
BODIES: dict[str, Schema] = {
    "/v1/chat/completions": {
        "required": ["model", "messages"],
        "properties": {**_COMMON, "messages": {"type": "array", "items": MESSAGE}},
        "example": {
            "model": "smollm2-135m",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "max_tokens": 64,
        },
    },
    "/v1/completions": {
        "required": ["model", "prompt"],
        "properties": {**_COMMON, "prompt": {"type": ["string", "array"]}},
        "example": {"model": "smollm2-135m", "prompt": "The capital of France is"},
    },
    "/v1/embeddings": {
        "required": ["model", "input"],
        "properties": {"model": _COMMON["model"], "input": {"type": ["string", "array"]}},
        "example": {"model": "text-embedding-3-small", "input": "hello"},
    },
    "/v1/responses": {
        "required": ["model", "input"],
        "properties": {
            "model": _COMMON["model"],
            "input": {"type": ["string", "array"]},
            "instructions": {"type": "string"},
            "max_output_tokens": {
                "type": "integer",
                "description": "lowered to what the key's budget can pay for",
            },
            "stream": _COMMON["stream"],
            "store": {"type": "boolean", "description": "kept for previous_response_id"},
            "previous_response_id": {"type": "string"},
        },
        "example": {"model": "smollm2-135m", "input": "What is the capital of France?"},
    },
    "/v1/messages": {
        "required": ["model", "messages", "max_tokens"],
        "properties": {
            **_COMMON,
            "messages": {"type": "array", "items": {"type": "object"}},
            "system": {"type": ["string", "array"]},
            "stop_sequences": {"type": "array", "items": {"type": "string"}},
            "tools": {"type": "array", "items": {"type": "object"}},
            "tool_choice": {"type": "object"},
        },
        "example": {
            "model": "smollm2-135m",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
        },
    },
}
SUMMARIES = {
    "/v1/chat/completions": "Chat completion (OpenAI's API)",
    "/v1/completions": "Text completion (OpenAI's legacy API)",
    "/v1/embeddings": "Embeddings (OpenAI's API)",
    "/v1/models": "The models this key may use, each with `ready`",
    "/v1/responses": "Response (OpenAI's Responses API, over chat completions)",
    "/v1/messages": "Message (Anthropic's Messages API; `x-api-key` or bearer; its error shape)",
}
ERRORS = {
    "400": "invalid request",
    "401": "invalid API key (send `authorization: Bearer sk-…`)",
    "403": "model not allowed for this key",
    "404": "unknown model",
    "429": "rate limit or budget (`Retry-After`)",
    "502": "the model's server failed",
    "503": "no deployment can take the request now (`Retry-After`)",
    "504": "the model's server did not answer in time",
}


def operation(path: str) -> Schema:
    responses: Schema = {"200": {"description": "OpenAI's response (SSE when `stream`)"}}
    responses |= {code: _error(text) for code, text in ERRORS.items()}
    op: Schema = {
        "summary": SUMMARIES.get(path, path),
        "tags": ["OpenAI-compatible"],
        "security": [{"apiKey": []}],
        "responses": responses,
    }
    body = BODIES.get(path)
    if body is not None:
        schema = {"type": "object", **{k: v for k, v in body.items() if k != "example"}}
        content = {"application/json": {"schema": schema, "example": body["example"]}}
        op["requestBody"] = {"required": True, "content": content}
    return op


def _error(text: str) -> Schema:
    return {"description": text, "content": {"application/json": {"schema": ERROR}}}


def document_routes(app: FastAPI, routes: Sequence[tuple[str, str]]) -> None:
    """Adds each (method, path) to the app's OpenAPI document, beside FastAPI's own."""
    generate: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            schema = generate()
            paths = schema.setdefault("paths", {})
            for method, path in routes:
                paths.setdefault(path, {})[method.lower()] = operation(path)
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["apiKey"] = {"type": "http", "scheme": "bearer", "bearerFormat": "sk-…"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
