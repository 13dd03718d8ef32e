"""OpenAI-format servers (`vllm`, `openai-compatible`): zero-parse byte forwarding.

The client's bytes go upstream as they came (re-encoded once only when the model name,
`stream_options.include_usage` or a budget cap on max_tokens must change), the answer's
bytes come back untouched unless they name another model than the catalog's or carry a
llama.cpp model's special tokens, and the stream is relayed event by event by `StreamRelay`.
Errors go through the same map as every other provider's (errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from aistrale_common.errors import AistraleError
from aistrale_router.providers.base import (
    PATHS,
    Answer,
    Budget,
    Outbound,
    PreparedRequest,
    ProviderTarget,
)
from aistrale_router.providers.echo import LLAMA_CPP, echo_answer
from aistrale_router.providers.errors import map_provider_error
from aistrale_router.streaming.relay import StreamRelay
from aistrale_router.text.special_tokens import clean_chunk
from aistrale_router.upstream.port import UpstreamResponse
from aistrale_router.usage.answer import usage_of_body

JSON = "application/json"


class PassthroughAdapter:
    byok = False  # self-hosted: the platform key alone, no org lookup on the hot path

    def __init__(self, name: str) -> None:
        self.name = name

    def prepare(
        self, request: Outbound, target: ProviderTarget, max_tokens: int | None
    ) -> PreparedRequest:
        headers = {"content-type": JSON, "accept-encoding": "identity"}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        url = target.base_url.rstrip("/") + PATHS[request.endpoint]
        return PreparedRequest(
            "POST", url, headers, request.upstream_body(target.model, max_tokens)
        )

    def complete(
        self, body: bytes, content_type: str | None, request: Outbound, target: ProviderTarget,
        request_id: str,
    ) -> Answer:  # fmt: skip
        # The catalog name echoed (a parse only when it differs), special tokens out of a
        # llama.cpp answer; then the one parse metering needs for the usage.
        body = echo_answer(body, request.model, target.engine)
        return Answer(body, content_type or JSON, usage_of_body(body, request.prompt_estimate))

    def relay(
        self, response: UpstreamResponse, request: Outbound, target: ProviderTarget,
        request_id: str, *, hide_usage: bool, budget: Budget | None,
    ) -> StreamRelay:  # fmt: skip
        return StreamRelay(
            response,
            hide_usage=hide_usage,
            budget=budget,
            prompt_estimate=request.prompt_estimate,
            model=request.model,
            clean=clean_chunk if target.engine == LLAMA_CPP else None,
        )

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        return map_provider_error(self.name, status, body, headers)
