"""The seam for an inbound protocol: what the gateway asks of one.

A protocol parses its body into a chat-completions body (the gateway's internal request:
the gateway validates, admits, routes, forwards and meters it as it does /v1/chat/completions,
over every provider adapter), then translates the complete answer, translates the stream
and renders errors in its own shape. The gateway knows nothing else of it: no per-protocol
branch in the gateway, no per-provider branch in a protocol.

A protocol that a provider speaks itself also hands back its own body (`Inbound.native`):
a deployment of that provider is sent it through the provider's native adapter
(providers/base.py `AdapterRegistry.native`), and its answer is not translated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from aistrale_common.errors import AistraleError, InvalidRequest
from aistrale_router.keys.record import KeyRecord
from aistrale_router.providers.base import NativeBody
from aistrale_router.validation.depth import check_depth


@dataclass(frozen=True, slots=True)
class Inbound:
    """A protocol's request, translated.

    `chat` is an OpenAI chat-completions body (`model`, `messages`, `stream`, `max_tokens`,
    `tools`, ...): what the gateway forwards. `state` is the protocol's own, handed back to
    `answer` and `stream` (the parsed request, the conversation to store, ...).
    """

    chat: dict[str, Any]
    state: Any = None
    native: NativeBody | None = None  # the client's own body, for a provider that speaks it


class TranslatedStream(Protocol):
    """A protocol's stream: its events, each chunk ending on an event boundary."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def cut(self, error: AistraleError) -> bytes:
        """The last event(s) when the router ends the stream itself between two chunks
        (the shutdown cutoff): the protocol's error event."""
        ...


class InboundProtocol(Protocol):
    # The endpoint's name in usage events and metrics (`responses`, `messages`); the route
    # is `path`.
    name: str
    path: str
    # The request headers of the protocol's own that travel with its native body.
    forwarded_headers: tuple[str, ...]

    async def parse(self, raw: bytes, key: KeyRecord, headers: Mapping[str, str]) -> Inbound:
        """The client's body as a chat request; raises AistraleError (4xx) for a bad one.
        `key` is the authenticated caller (whose org owns stored state); `headers` are
        those of `forwarded_headers` the client sent."""
        ...

    async def answer(self, inbound: Inbound, chat: bytes, request_id: str) -> bytes:
        """A successful `chat.completion` body (JSON) as this protocol's answer body."""
        ...

    def stream(
        self, inbound: Inbound, chunks: AsyncIterator[bytes], request_id: str
    ) -> TranslatedStream:
        """The chat SSE stream, as the relay yields it (each chunk ends on an event
        boundary; a failure is an OpenAI error event then `[DONE]`), as this protocol's
        SSE events. A cut stream must end with the protocol's own error event."""
        ...

    def error(self, error: AistraleError) -> bytes:
        """The JSON body of an error response in this protocol's shape (status and headers
        are the error's own)."""
        ...


def load_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, with the checks every /v1 body gets (OpenAI's messages)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    check_depth(raw, body)
    return body


def inbound_key(authorization: str | None, api_key: str | None) -> str | None:
    """The caller's key: `Authorization: Bearer`, or Anthropic's `x-api-key` (what its SDK
    sends), read as the same bearer key."""
    if authorization is None and api_key is not None:
        return f"Bearer {api_key}"
    return authorization


def chat_events(raw: bytes) -> list[bytes]:
    """The data of each event in a chunk the chat relay yielded: it writes every event as
    one `data: ...` line and each chunk ends on an event boundary (streaming/relay.py), so a
    split is enough, no general SSE parser."""
    return [part[6:] for part in raw.split(b"\n\n") if part.startswith(b"data: ")]
