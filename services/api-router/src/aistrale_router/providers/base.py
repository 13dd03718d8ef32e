"""The seam between the gateway's forwarding and a provider's wire format.

`vllm` and `openai-compatible` speak OpenAI's format and are forwarded as bytes with no
adapter. Every other provider has a `ProviderAdapter` that translates OpenAI chat (and
embeddings, where the provider has them) both ways, streaming included, and maps the
provider's errors to our error types in one place (`error`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aistrale_common.errors import AistraleError
from aistrale_router.streaming.sse import SseEvent


@dataclass(frozen=True, slots=True)
class ProviderTarget:
    """What an adapter needs about the chosen deployment."""

    base_url: str
    model: str  # the upstream model name
    api_key: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str] = field(repr=False)  # carries the provider key: never in repr/logs
    body: bytes = field(repr=False)


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def as_openai(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }


class StreamTranslator(Protocol):
    """Turns a provider's SSE events into OpenAI `chat.completion.chunk` dicts."""

    usage: Usage | None

    def feed(self, event: SseEvent) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]:
        """Chunks still owed at the end of the stream (the usage chunk, for instance)."""
        ...


class ProviderAdapter(Protocol):
    name: str

    def chat_request(self, body: Mapping[str, Any], target: ProviderTarget) -> PreparedRequest:
        """`body` is the client's OpenAI request; `body["stream"]` says whether to stream."""
        ...

    def chat_response(self, body: bytes, target: ProviderTarget, request_id: str) -> dict[str, Any]:
        """A successful non-streamed provider body as an OpenAI `chat.completion`."""
        ...

    def stream_translator(
        self, target: ProviderTarget, request_id: str, model: str
    ) -> StreamTranslator: ...

    def embeddings_request(
        self, body: Mapping[str, Any], target: ProviderTarget
    ) -> PreparedRequest:
        """Raises InvalidRequest when the provider has no embeddings."""
        ...

    def embeddings_response(
        self, body: bytes, target: ProviderTarget, encoding_format: str | None = None
    ) -> dict[str, Any]:
        """`encoding_format` is the client's (the openai SDK asks for "base64" by default)."""
        ...

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        """The one place a provider's failure becomes one of our errors."""
        ...


@dataclass
class AdapterRegistry:
    adapters: dict[str, ProviderAdapter] = field(default_factory=dict)

    def register(self, adapter: ProviderAdapter) -> None:
        self.adapters[adapter.name] = adapter

    def get(self, provider: str) -> ProviderAdapter | None:
        """None for providers that speak OpenAI's format and are forwarded untouched."""
        return self.adapters.get(provider)
