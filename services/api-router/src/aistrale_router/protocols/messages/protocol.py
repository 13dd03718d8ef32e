"""`POST /v1/messages` (Anthropic Messages) as an inbound protocol (protocols/base.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import orjson

from aistrale_common.errors import AistraleError
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.base import Inbound, load_object
from aistrale_router.protocols.messages.answer import from_chat
from aistrale_router.protocols.messages.request import MessagesCall, chat_body
from aistrale_router.protocols.messages.stream import MessagesStream
from aistrale_router.providers.anthropic_errors import error_body
from aistrale_router.providers.anthropic_native import FORWARDED_HEADERS
from aistrale_router.providers.base import NativeBody


class MessagesProtocol:
    name = "messages"
    path = "/v1/messages"
    forwarded_headers = FORWARDED_HEADERS

    async def parse(self, raw: bytes, key: KeyRecord, headers: Mapping[str, str]) -> Inbound:
        body = load_object(raw)
        chat, call = chat_body(body)
        # An Anthropic deployment is sent the client's own body (providers/anthropic_native.py).
        native = NativeBody(self.name, "anthropic", body, dict(headers), call.native_only)
        return Inbound(chat, call, native)

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
