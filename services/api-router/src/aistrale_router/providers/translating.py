"""A provider with its own wire format, served through its `WireTranslator`: the request
is translated from OpenAI's, the answer (whole or streamed) back to OpenAI's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, InvalidRequest
from aistrale_router.providers.base import (
    Answer,
    Budget,
    Outbound,
    PreparedRequest,
    ProviderTarget,
    WireTranslator,
)
from aistrale_router.streaming.adapted import AdaptedRelay
from aistrale_router.streaming.relay import StreamRelay
from aistrale_router.upstream.port import UpstreamResponse
from aistrale_router.usage.answer import usage_of_answer

JSON = "application/json"


class TranslatingAdapter:
    byok = True  # every provider with its own format is a hosted API an org has a key for

    def __init__(self, translator: WireTranslator) -> None:
        self.name = translator.name
        self.translator = translator

    def prepare(
        self, request: Outbound, target: ProviderTarget, max_tokens: int | None
    ) -> PreparedRequest:
        body: dict[str, Any] = dict(request.body)
        if max_tokens is not None:
            body[request.max_tokens_field] = max_tokens
        if request.endpoint == "chat":
            return self.translator.chat_request(body, target)
        if request.endpoint == "embeddings":
            return self.translator.embeddings_request(body, target)
        raise InvalidRequest(
            f"/v1/completions is not available for {self.name} models; use /v1/chat/completions.",
            param="model",
        )

    def complete(
        self, body: bytes, content_type: str | None, request: Outbound, target: ProviderTarget,
        request_id: str,
    ) -> Answer:  # fmt: skip
        if request.endpoint == "embeddings":
            encoding = request.body.get("encoding_format")
            answer = self.translator.embeddings_response(body, target, encoding)
        else:
            answer = self.translator.chat_response(body, target, request_id)
        if "model" in answer:
            answer["model"] = request.model  # the catalog name, not upstream's
        usage = usage_of_answer(answer, request.prompt_estimate)  # no second parse
        return Answer(orjson.dumps(answer), JSON, usage)

    def relay(
        self, response: UpstreamResponse, request: Outbound, target: ProviderTarget,
        request_id: str, *, hide_usage: bool, budget: Budget | None,
    ) -> StreamRelay:  # fmt: skip
        translator = self.translator.stream_translator(target, request_id, request.model)
        return AdaptedRelay(
            response,
            translator,
            hide_usage=hide_usage,
            budget=budget,
            prompt_estimate=request.prompt_estimate,
            model=request.model,
        )

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        return self.translator.error(status, body, headers)
