"""Anthropic's Messages API (`POST /v1/messages`) as an inbound protocol (protocols/base.py),
and the bodies of `POST /v1/messages/count_tokens`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from aistrale_common.errors import AistraleError, UpstreamFailed
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.base import Inbound, load_object
from aistrale_router.protocols.messages import answer
from aistrale_router.protocols.messages.request import chat_body
from aistrale_router.protocols.messages.stream import MessagesStream


@dataclass(frozen=True, slots=True)
class MessagesCall:
    """What the answer is shaped by: the model name the client gave, its stop sequences."""

    model: str
    stops: list[str]


class MessagesProtocol:
    name = "messages"
    path = "/v1/messages"
    count_path = "/v1/messages/count_tokens"

    async def parse(self, raw: bytes, key: KeyRecord) -> Inbound:
        return translated(load_object(raw), counting=False)

    async def parse_count(self, raw: bytes, key: KeyRecord) -> Inbound:
        """A count_tokens body: a Messages body without max_tokens."""
        return translated(load_object(raw), counting=True)

    async def answer(self, inbound: Inbound, chat: bytes, request_id: str) -> bytes:
        try:
            completion = orjson.loads(chat)
        except orjson.JSONDecodeError:
            raise UpstreamFailed("The model's server sent an answer we could not read.") from None
        if not isinstance(completion, dict):
            raise UpstreamFailed("The model's server sent an answer we could not read.")
        call = _call(inbound)
        return orjson.dumps(answer.message(completion, call.model, call.stops))

    def stream(
        self, inbound: Inbound, chunks: AsyncIterator[bytes], request_id: str
    ) -> MessagesStream:
        call = _call(inbound)
        return MessagesStream(chunks, call.model, call.stops)

    def error(self, error: AistraleError) -> bytes:
        return answer.error(error)


def translated(body: dict[str, object], *, counting: bool) -> Inbound:
    chat = chat_body(body, counting=counting)
    stops = [s for s in chat.get("stop") or [] if isinstance(s, str)]
    return Inbound(chat, MessagesCall(str(body.get("model")), stops))


def _call(inbound: Inbound) -> MessagesCall:
    assert isinstance(inbound.state, MessagesCall)
    return inbound.state
