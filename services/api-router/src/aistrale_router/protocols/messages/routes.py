"""`POST /v1/messages/count_tokens`: the prompt's size as the router estimates it (the same
estimate the budget reserves from, text/prompt_estimate.py), for a model the key may use.
Not on the hot path: an ordinary FastAPI route; errors in Anthropic's shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from aistrale_common.errors import AistraleError
from aistrale_router.protocols.base import inbound_key, load_object
from aistrale_router.protocols.messages.request import chat_body
from aistrale_router.providers.anthropic_errors import error_body
from aistrale_router.text.prompt_estimate import chat_prompt_tokens

# (authorization, model name) -> the model card; raises NotFound for a model the key may not
# use (Gateway.retrieve_model), AuthenticationFailed for a wrong key.
ModelCheck = Callable[[str | None, str], Awaitable[dict[str, Any]]]


def count_tokens_route(app: FastAPI, check: ModelCheck) -> None:
    @app.post(
        "/v1/messages/count_tokens", tags=["Anthropic Messages"], summary="Count input tokens"
    )
    async def count_tokens(request: Request) -> Response:
        try:
            body = load_object(await request.body())
            body.setdefault("max_tokens", 1)  # not a field of this endpoint
            chat, call = chat_body(body)
            headers = request.headers
            await check(
                inbound_key(headers.get("authorization"), headers.get("x-api-key")), call.model
            )
        except AistraleError as exc:
            return Response(error_body(exc), exc.status, exc.headers, "application/json")
        tokens = chat_prompt_tokens(chat["messages"], chat.get("tools"))
        return JSONResponse({"input_tokens": tokens})
