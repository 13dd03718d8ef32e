"""The seam between the gateway's forwarding and a provider's wire format.

Every provider the catalog may name has a `ProviderAdapter`: the gateway prepares the
request, reads a whole answer, relays a stream and maps a failure through it, with no
"no adapter" branch anywhere. `vllm` and `openai-compatible` speak OpenAI's format and get
the `PassthroughAdapter` (the client's bytes go up and the answer's bytes come back as they
are). Every other provider has a `WireTranslator` that translates OpenAI chat (and
embeddings, where the provider has them) both ways, streaming included; `TranslatingAdapter`
turns one into a `ProviderAdapter`. All of them map errors through `errors.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from aistrale_common.errors import AistraleError
from aistrale_router.streaming.adapted import StreamTranslator
from aistrale_router.streaming.relay import StreamRelay
from aistrale_router.upstream.port import UpstreamResponse
from aistrale_router.usage import Usage

__all__ = [
    "PATHS",
    "AdapterRegistry",
    "Answer",
    "Budget",
    "Endpoint",
    "NativeBody",
    "Outbound",
    "PreparedRequest",
    "ProviderAdapter",
    "ProviderTarget",
    "StreamTranslator",
    "UnknownProvider",
    "Usage",
    "WireTranslator",
]

Endpoint = Literal["chat", "completions", "embeddings"]
PATHS: dict[Endpoint, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
}
# Completion tokens so far -> may the stream go on?
Budget = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ProviderTarget:
    """What an adapter needs about the chosen deployment."""

    base_url: str
    model: str  # the upstream model name
    api_key: str | None = field(repr=False)
    engine: str | None = None  # the server software where it matters (`llama.cpp`)


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str] = field(repr=False)  # carries the provider key: never in repr/logs
    body: bytes = field(repr=False)


class Answer(NamedTuple):
    """A successful whole answer as the client gets it, and the tokens it used."""

    body: bytes
    content_type: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class NativeBody:
    """A client's body in an inbound protocol that a provider speaks itself (Anthropic
    Messages to `anthropic`): a deployment of that provider is sent this body, not its
    chat translation, and its answer goes back as it came (docs/decisions/
    router-native-pass-through.md). `only`: the params that only such a deployment can
    serve (a server tool, say); a request with any is not sent anywhere else."""

    protocol: str  # the inbound protocol's name (`messages`)
    provider: str  # the provider that speaks it (`anthropic`)
    body: dict[str, Any] = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict)  # the protocol's own (`anthropic-beta`)
    only: tuple[str, ...] = ()


class Outbound(Protocol):
    """The client's request as adapters read it (the gateway's `ClientRequest`)."""

    @property
    def endpoint(self) -> Endpoint: ...
    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def model(self) -> str: ...
    @property
    def max_tokens_field(self) -> str: ...
    @property
    def prompt_estimate(self) -> int: ...
    @property
    def native(self) -> NativeBody | None: ...

    def upstream_body(self, upstream_model: str, max_tokens: int | None) -> bytes:
        """The client's bytes, re-encoded only when something must change."""
        ...


class ProviderAdapter(Protocol):
    """What the gateway asks of every provider."""

    name: str
    byok: bool  # whether an org may bring its own key for this provider

    def prepare(
        self, request: Outbound, target: ProviderTarget, max_tokens: int | None
    ) -> PreparedRequest:
        """Raises InvalidRequest for what this provider cannot serve."""
        ...

    def complete(
        self, body: bytes, content_type: str | None, request: Outbound, target: ProviderTarget,
        request_id: str,
    ) -> Answer:  # fmt: skip
        """A successful whole answer as the client gets it, with its usage."""
        ...

    def relay(
        self, response: UpstreamResponse, request: Outbound, target: ProviderTarget,
        request_id: str, *, hide_usage: bool, budget: Budget | None,
    ) -> StreamRelay:  # fmt: skip
        """The relay that turns the provider's stream into OpenAI chunks; it counts the
        stream's usage (`StreamRelay.final_usage`)."""
        ...

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
        """The provider's failure as one of our errors (errors.py, for every provider)."""
        ...


class WireTranslator(Protocol):
    """A provider with its own wire format, translated from and to OpenAI's."""

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

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError: ...


class UnknownProvider(LookupError):
    """A provider name no adapter serves: the catalog naming it is refused when it loads."""


@dataclass
class AdapterRegistry:
    adapters: dict[str, ProviderAdapter] = field(default_factory=dict)
    translators: dict[str, WireTranslator] = field(default_factory=dict)
    # (inbound protocol, provider) -> the adapter that forwards that protocol's own body
    natives: dict[tuple[str, str], ProviderAdapter] = field(default_factory=dict)

    def register(self, adapter: ProviderAdapter, translator: WireTranslator | None = None) -> None:
        self.adapters[adapter.name] = adapter
        if translator is not None:
            self.translators[adapter.name] = translator

    def register_native(self, protocol: str, adapter: ProviderAdapter) -> None:
        self.natives[(protocol, adapter.name)] = adapter

    def native(self, provider: str, body: NativeBody | None) -> ProviderAdapter | None:
        """The adapter that sends `body` as it is to a deployment of `provider`, if that
        provider speaks the body's protocol."""
        if body is None or body.provider != provider:
            return None
        return self.natives.get((body.protocol, provider))

    def get(self, provider: str) -> ProviderAdapter:
        try:
            return self.adapters[provider]
        except KeyError:
            raise UnknownProvider(self.unknown(provider)) from None

    def translator(self, provider: str) -> WireTranslator:
        """The wire translator behind a translated provider (tests read it directly)."""
        return self.translators[provider]

    def byok_providers(self) -> frozenset[str]:
        return frozenset(name for name, a in self.adapters.items() if a.byok)

    def unknown(self, provider: str) -> str:
        known = ", ".join(sorted(self.adapters))
        return f"no adapter serves provider {provider!r} (known: {known})"
