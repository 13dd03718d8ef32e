"""`POST /v1/messages` (Anthropic Messages) as an inbound protocol (protocols/base.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from aistrale_common.errors import AistraleError
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.base import Inbound, load_object
from aistrale_router.protocols.messages.answer import from_chat
from aistrale_router.protocols.messages.errors import error_body
from aistrale_router.protocols.messages.request import MessagesCall, chat_body
from aistrale_router.protocols.messages.stream import MessagesStream


class MessagesProtocol:
    name = "messages"
    path = "/v1/messages"

    async def parse(self, raw: bytes, key: KeyRecord) -> Inbound:
        chat, call = chat_body(load_object(raw))
        return Inbound(chat, call)

    async def answer(self, inbound: Inbound, chat: bytes, request_id: str) -> bytes:
        return orjson.dumps(from_chat(_call(inbound), chat))

    def stream(
        self, inbound: Inbound, chunks: AsyncIterator[bytes], request_id: str
    ) -> MessagesStream:
        return MessagesStream(_call(inbound), chunks)

    def error(self, error: AistraleError) -> bytes:
        return error_body(error)


def _call(inbound: Inbound) -> MessagesCall:
    assert isinstance(inbound.state, MessagesCall)
    return inbound.state
