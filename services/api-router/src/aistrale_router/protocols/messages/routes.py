"""`POST /v1/messages/count_tokens`: the prompt's size as the router estimates it (the same
estimate the budget reserves from, text/prompt_estimate.py), for a model the key may use.
Not on the hot path: an ordinary FastAPI route; errors in Anthropic's shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from aistrale_common.errors import AistraleError
from aistrale_router.keys.signatures import SignedParts, signed_parts
from aistrale_router.protocols.base import inbound_key, load_object
from aistrale_router.protocols.messages.request import chat_body
from aistrale_router.providers.anthropic_errors import error_body
from aistrale_router.text.prompt_estimate import chat_prompt_tokens

# (authorization, model name, signed parts, raw body) -> the model card; raises NotFound for
# a model the key may not use, AuthenticationFailed for a wrong key or a bad signature
# (Gateway.check_model_call).
ModelCheck = Callable[[str | None, str, SignedParts, bytes], Awaitable[dict[str, Any]]]


def count_tokens_route(app: FastAPI, check: ModelCheck) -> None:
    @app.post(
        "/v1/messages/count_tokens", tags=["Anthropic Messages"], summary="Count input tokens"
    )
    async def count_tokens(request: Request) -> Response:
        try:
            raw = await request.body()
            body = load_object(raw)
            body.setdefault("max_tokens", 1)  # not a field of this endpoint
            chat, call = chat_body(body)
            headers = request.headers
            key = inbound_key(headers.get("authorization"), headers.get("x-api-key"))
            signed = signed_parts("POST", request.url.path, request.scope["headers"])
            await check(key, call.model, signed, raw)
        except AistraleError as exc:
            return Response(error_body(exc), exc.status, exc.headers, "application/json")
        tokens = chat_prompt_tokens(chat["messages"], chat.get("tools"))
        return JSONResponse({"input_tokens": tokens})
