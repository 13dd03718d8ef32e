"""`GET` and `DELETE /v1/responses/{id}`: a stored response, for the org that made it only.
Not on the hot path: ordinary FastAPI routes; errors in OpenAI's shape (the app's handler)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.responses.protocol import ResponsesProtocol, not_found

Authenticate = Callable[[str | None], Awaitable[KeyRecord]]


def responses_routes(app: FastAPI, protocol: ResponsesProtocol, authenticate: Authenticate) -> None:
    @app.get("/v1/responses/{response_id}", tags=["OpenAI Responses"], summary="One response")
    async def retrieve(response_id: str, request: Request) -> JSONResponse:
        key = await authenticate(request.headers.get("authorization"))
        stored = await protocol.find(key.org_id, response_id)
        if stored is None:
            raise not_found(response_id)
        return JSONResponse(stored.response)

    @app.delete("/v1/responses/{response_id}", tags=["OpenAI Responses"], summary="Delete one")
    async def delete(response_id: str, request: Request) -> JSONResponse:
        key = await authenticate(request.headers.get("authorization"))
        if not await protocol.delete(key.org_id, response_id):
            raise not_found(response_id)
        return JSONResponse({"id": response_id, "object": "response.deleted", "deleted": True})
