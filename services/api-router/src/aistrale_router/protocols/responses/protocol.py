"""`POST /v1/responses` as an inbound protocol (protocols/base.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from aistrale_common.errors import AistraleError, InvalidRequest, NotFound, ServiceUnavailable
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.base import Inbound, load_object
from aistrale_router.protocols.responses.answer import from_chat
from aistrale_router.protocols.responses.errors import error_body
from aistrale_router.protocols.responses.request import ResponsesCall, chat_body, new_call
from aistrale_router.protocols.responses.store import ResponseStore, StoredResponse
from aistrale_router.protocols.responses.stream import ResponsesStream


class ResponsesProtocol:
    name = "responses"
    path = "/v1/responses"
    forwarded_headers: tuple[str, ...] = ()  # served over chat everywhere (decision
    # router-responses-over-chat.md): no native body

    def __init__(self) -> None:
        # Opened with the router's database in the app's lifespan (app.py).
        self.store: ResponseStore | None = None

    def opened_store(self) -> ResponseStore:
        if self.store is None:
            raise ServiceUnavailable("The router is still starting.")
        return self.store

    async def parse(self, raw: bytes, key: KeyRecord, headers: Mapping[str, str]) -> Inbound:
        body = load_object(raw)
        previous = await self._previous(body.get("previous_response_id"), key.org_id)
        call, instructions = new_call(body, key.org_id, previous)
        return Inbound(chat_body(body, call, instructions), call)

    async def answer(self, inbound: Inbound, chat: bytes, request_id: str) -> bytes:
        call = _call(inbound)
        response = from_chat(call, chat)
        await self._save(call, response)
        return orjson.dumps(response)

    def stream(
        self, inbound: Inbound, chunks: AsyncIterator[bytes], request_id: str
    ) -> ResponsesStream:
        call = _call(inbound)

        async def saved(response: dict[str, Any]) -> None:
            await self._save(call, response)

        return ResponsesStream(call, chunks, saved)

    def error(self, error: AistraleError) -> bytes:
        return error_body(error)

    async def _previous(self, response_id: Any, org_id: str) -> StoredResponse | None:
        if response_id is None:
            return None
        if not isinstance(response_id, str):
            raise InvalidRequest(
                "'previous_response_id' must be a string.", param="previous_response_id"
            )
        previous = await self.find(org_id, response_id)
        if previous is None:
            raise not_found(response_id, "previous_response_id")
        return previous

    async def find(self, org_id: str, response_id: str) -> StoredResponse | None:
        """The org's stored response; an id we could not have made is not looked up (a NUL
        byte or 300 characters must be a 404, not a database error)."""
        if not _ID.fullmatch(response_id):
            return None
        return await self.opened_store().get(org_id, response_id)

    async def delete(self, org_id: str, response_id: str) -> bool:
        if not _ID.fullmatch(response_id):
            return False
        return await self.opened_store().delete(org_id, response_id)

    async def _save(self, call: ResponsesCall, response: dict[str, Any]) -> None:
        if call.store:
            stored = StoredResponse(call.id, call.org_id, call.created_at, response, call.history)
            await self.opened_store().save(stored)


_ID = re.compile(r"resp_[0-9a-f]{32}")


def not_found(response_id: str, param: str | None = None) -> NotFound:
    return NotFound(f"Response with id '{response_id[:100]}' not found.", param=param)


def _call(inbound: Inbound) -> ResponsesCall:
    assert isinstance(inbound.state, ResponsesCall)
    return inbound.state
