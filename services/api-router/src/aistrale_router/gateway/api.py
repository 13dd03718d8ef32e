"""The OpenAI-compatible routes, thin: plain Starlette endpoints (no dependency solving or
body validation on the hot path; the gateway reads the few fields it needs itself).

Every route the router exposes is listed in `routes()`.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from aistrale_common.logging import get_logger
from aistrale_router.gateway.request import Endpoint
from aistrale_router.gateway.service import Complete, Streaming
from aistrale_router.gateway.wiring import GatewayRef

log = get_logger(__name__)


def routes(gateway: GatewayRef) -> list[Route]:
    def forwarding(endpoint: Endpoint) -> Route:
        async def endpoint_fn(request: Request) -> Response:
            raw = await request.body()
            result = await gateway.get().handle(
                endpoint, raw, request.headers.get("authorization"), _request_id(request)
            )
            if isinstance(result, Complete):
                return Response(result.body, result.status, result.headers)
            return RelayResponse(result)

        path = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}.get(
            endpoint, "/v1/embeddings"
        )
        return Route(path, endpoint_fn, methods=["POST"], name=endpoint)

    async def models(request: Request) -> Response:
        listed = await gateway.get().list_models(request.headers.get("authorization"))
        return Response(orjson.dumps(listed), media_type="application/json")

    return [
        forwarding("chat"),
        forwarding("completions"),
        forwarding("embeddings"),
        Route("/v1/models", models, methods=["GET"], name="models"),
    ]


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


class RelayResponse(Response):
    """Sends each upstream chunk as it arrives; a client that goes away cancels the relay,
    which closes the upstream connection (so upstream stops generating) and meters what
    was served."""

    def __init__(self, stream: Streaming) -> None:
        # Not Response.__init__: it would add `content-length: 0` to a body of unknown length.
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers.items()
        ]
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._pump(send))
        watch = asyncio.create_task(_wait_for_disconnect(receive))
        client_gone = False
        try:
            done, _ = await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
            client_gone = pump not in done
        finally:
            for task in (pump, watch):
                task.cancel()
            try:
                outcome = await asyncio.gather(pump, watch, return_exceptions=True)
                if isinstance(outcome[0], Exception):
                    log.warning("relay_failed", exc_info=outcome[0])
            finally:
                await self.stream.finish(client_gone=client_gone)

    async def _pump(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async for chunk in self.stream.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
