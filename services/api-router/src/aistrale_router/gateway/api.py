"""The OpenAI-compatible endpoints, thin: raw ASGI handlers served by the front door (no
dependency solving or body validation on the hot path; the gateway reads the few fields it
needs itself).

Every route the router exposes is listed in `endpoints()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from aistrale_common.logging import get_logger
from aistrale_router.gateway.front_door import Endpoint, Handler
from aistrale_router.gateway.request import Endpoint as Kind
from aistrale_router.gateway.service import Complete, Streaming
from aistrale_router.gateway.wiring import GatewayRef

log = get_logger(__name__)
JSON_TYPE = (b"content-type", b"application/json")


def endpoints(gateway: GatewayRef) -> list[Endpoint]:
    def forwarding(kind: Kind) -> Handler:
        async def handle(scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
            auth, rid = _header(scope, b"authorization"), scope["state"]["request_id"]
            result = await _unless_client_leaves(
                gateway.get().handle(kind, body, auth, rid), receive
            )
            if result is None:
                return  # nobody to answer; the gateway metered the request as 499
            if isinstance(result, Complete):
                try:
                    await _send_complete(result, send)
                finally:
                    if result.after is not None:
                        # After the coalesced write (call_soon is FIFO): off the latency path.
                        asyncio.get_running_loop().call_soon(result.after)
            else:
                await RelayResponse(result)(scope, receive, send)

        return handle

    async def models(scope: Scope, _: bytes, receive: Receive, send: Send) -> None:
        listed = await gateway.get().list_models(_header(scope, b"authorization"))
        await _send_complete(Complete(200, orjson.dumps(listed), {}), send)

    return [
        Endpoint("POST", "/v1/chat/completions", "chat", forwarding("chat")),
        Endpoint("POST", "/v1/completions", "completions", forwarding("completions")),
        Endpoint("POST", "/v1/embeddings", "embeddings", forwarding("embeddings")),
        Endpoint("GET", "/v1/models", "models", models),
    ]


# A fast answer needs no watcher: it is started only for work still running after this.
WATCH_AFTER_S = 0.05


async def _unless_client_leaves(
    work: Coroutine[Any, Any, Complete | Streaming], receive: Receive
) -> Complete | Streaming | None:
    """Runs `work` in this task; if it is still running after WATCH_AFTER_S, a watcher task
    waits for `http.disconnect`, and a client that leaves before the answer is ready
    cancels the work, which closes the upstream connection (upstream stops generating).
    Streams get their own watcher once the relay starts (RelayResponse)."""
    this = asyncio.current_task()
    assert this is not None
    watchers: list[asyncio.Task[bool]] = []

    def watch() -> None:
        watchers.append(asyncio.ensure_future(_cancel_when_gone(receive, this)))

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, watch)
    try:
        return await work
    except asyncio.CancelledError:
        watcher = watchers[0] if watchers else None
        if watcher is None or not watcher.done() or watcher.cancelled() or not watcher.result():
            raise  # cancelled from outside (shutdown), not by the watcher
        this.uncancel()
        return None
    finally:
        timer.cancel()
        for watcher in watchers:
            watcher.cancel()


async def _cancel_when_gone(receive: Receive, task: asyncio.Task[Any]) -> bool:
    await _wait_for_disconnect(receive)
    task.cancel()
    return True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_complete(result: Complete, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers.items()]
    if "content-type" not in result.headers:
        headers.append(JSON_TYPE)
    headers.append((b"content-length", b"%d" % len(result.body)))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})


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
