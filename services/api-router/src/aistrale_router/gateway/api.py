"""The OpenAI-compatible endpoints, thin: raw ASGI handlers served by the front door (no
dependency solving or body validation on the hot path; the gateway reads the few fields it
needs itself).

Every route the router exposes is listed in `endpoints()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from aistrale_common.errors import AistraleError, ServiceUnavailable
from aistrale_common.logging import get_logger
from aistrale_router.gateway.cutoff import Cutoff, shutting_down
from aistrale_router.gateway.front_door import Endpoint, Handler
from aistrale_router.gateway.metrics import GatewayMetrics
from aistrale_router.gateway.request import Endpoint as Kind
from aistrale_router.gateway.service import Complete, Gateway, Streaming
from aistrale_router.gateway.stream_end import StreamEnd
from aistrale_router.gateway.wiring import GatewayRef
from aistrale_router.keys.signatures import signed_parts
from aistrale_router.protocols.base import InboundProtocol, inbound_key

log = get_logger(__name__)
JSON_TYPE = (b"content-type", b"application/json")


def endpoints(
    gateway: GatewayRef,
    requests: GatewayMetrics,
    protocols: Sequence[InboundProtocol] = (),
) -> list[Endpoint]:
    def forwarding(kind: Kind) -> Handler:
        async def handle(scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
            current = _serving(gateway, requests, kind)
            auth, rid = _header(scope, b"authorization"), scope["state"]["request_id"]
            signed = signed_parts(scope["method"], scope["path"], scope["headers"])
            work = current.handle(kind, body, auth, rid, signed)
            await _answer(work, current.cutoff, scope, receive, send)

        return handle

    def inbound(protocol: InboundProtocol) -> Handler:
        async def handle(scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
            try:
                current = _serving(gateway, requests, protocol.name)
                auth, rid = _inbound_key(scope), scope["state"]["request_id"]
                signed = signed_parts(scope["method"], scope["path"], scope["headers"])
                forwarded = _headers(scope, protocol.forwarded_headers)
                work = current.handle_inbound(protocol, body, auth, rid, signed, forwarded)
                send = _with_request_id(send, rid)
                await _answer(work, current.cutoff, scope, receive, send)
            except AistraleError as exc:
                if scope.get("aistrale_started"):
                    raise
                log.log(exc.log_level, "request_error", code=exc.instance_code, status=exc.status)
                await _send_complete(Complete(exc.status, protocol.error(exc), exc.headers), send)

        return handle

    async def models(scope: Scope, _: bytes, receive: Receive, send: Send) -> None:
        listed = await gateway.get().list_models(_header(scope, b"authorization"))
        await _send_complete(Complete(200, orjson.dumps(listed), {}), send)

    return [
        Endpoint("POST", "/v1/chat/completions", "chat", forwarding("chat")),
        Endpoint("POST", "/v1/completions", "completions", forwarding("completions")),
        Endpoint("POST", "/v1/embeddings", "embeddings", forwarding("embeddings")),
        Endpoint("GET", "/v1/models", "models", models),
        *(Endpoint("POST", p.path, p.name, inbound(p), p.error) for p in protocols),
    ]


async def _answer(
    work: Coroutine[Any, Any, Complete | Streaming],
    cutoff: Cutoff,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    result = await _unless_client_leaves(work, receive, cutoff)
    if result is None:
        return  # nobody to answer; the gateway metered the request as 499
    scope["aistrale_started"] = True  # from here on the answer is under way
    if isinstance(result, Complete):
        if result.meter is not None:
            result.meter()
        await _send_complete(result, send)
    else:
        await RelayResponse(result, cutoff)(scope, receive, send)


def retrieve_model_route(app: FastAPI, gateway: GatewayRef) -> None:
    """GET /v1/models/{id}: not on the hot path, so an ordinary FastAPI route (ids such as
    `meta-llama/Llama-3.1-8B` hold slashes)."""

    @app.get("/v1/models/{model_id:path}", tags=["OpenAI-compatible"], summary="One model")
    async def retrieve_model(model_id: str, request: Request) -> JSONResponse:
        authorization = request.headers.get("authorization")
        return JSONResponse(await gateway.get().retrieve_model(authorization, model_id))


def _serving(gateway: GatewayRef, requests: GatewayMetrics, kind: str) -> Gateway:
    try:
        return gateway.get()
    except ServiceUnavailable:
        requests.refused(kind, ServiceUnavailable.status, 0.0)  # refused at once
        raise


# A fast answer needs no watcher: it is started only for work still running after this.
WATCH_AFTER_S = 0.05
# A stream ended at the shutdown cutoff: how long its last event may wait for a slow client.
CUT_SEND_S = 2.0


async def _unless_client_leaves(
    work: Coroutine[Any, Any, Complete | Streaming], receive: Receive, cutoff: Cutoff
) -> Complete | Streaming | None:
    """Runs `work` in this task; if it is still running after WATCH_AFTER_S, a `_Watch`
    cancels it when the client leaves before the answer is ready (which closes the upstream
    connection: upstream stops generating), or when the shutdown cutoff passes (the client
    then gets a 503). Streams get their own watch once the relay starts (RelayResponse)."""
    this = asyncio.current_task()
    assert this is not None
    watch = _Watch(this, receive, cutoff)
    timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, watch.start)
    try:
        return await work
    except asyncio.CancelledError:
        if watch.reason is None:
            raise  # cancelled from outside (the server's own timeout), not by the watch
        this.uncancel()
        if watch.reason == "cutoff":
            raise shutting_down() from None
        return None
    finally:
        timer.cancel()
        watch.stop()


class _Watch:
    def __init__(self, task: asyncio.Task[Any], receive: Receive, cutoff: Cutoff) -> None:
        self._task = task
        self._receive = receive
        self._cutoff = cutoff
        self._watcher: asyncio.Task[None] | None = None
        self._live = True
        self.reason: Literal["client", "cutoff"] | None = None

    def start(self) -> None:
        self._watcher = asyncio.ensure_future(self._client_gone())
        self._cutoff.future().add_done_callback(self._cut)

    def stop(self) -> None:
        self._live = False  # a cutoff callback already scheduled must not cancel anything
        if self._watcher is not None:
            self._watcher.cancel()
            self._cutoff.future().remove_done_callback(self._cut)

    async def _client_gone(self) -> None:
        await _wait_for_disconnect(self._receive)
        self._cancel("client")

    def _cut(self, _: asyncio.Future[None]) -> None:
        self._cancel("cutoff")

    def _cancel(self, reason: Literal["client", "cutoff"]) -> None:
        if self._live and self.reason is None:
            self.reason = reason
            self._task.cancel()


def _with_request_id(send: Send, request_id: str) -> Send:
    """Anthropic's SDK reads the request id from `request-id` (OpenAI's from x-request-id,
    which the middleware sets): inbound protocols' answers carry both."""
    header = (b"request-id", request_id.encode("latin-1"))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    return sending


def _inbound_key(scope: Scope) -> str | None:
    return inbound_key(_header(scope, b"authorization"), _header(scope, b"x-api-key"))


def _headers(scope: Scope, names: tuple[str, ...]) -> dict[str, str]:
    """The named headers the client sent (lower-case names, as ASGI gives them)."""
    if not names:
        return {}
    wanted = {name.encode("latin-1") for name in names}
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in wanted}


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
    was served. At the shutdown cutoff the relay is cancelled too, and the stream ends with
    an explicit error event and `[DONE]` instead of stopping mid-body."""

    def __init__(self, stream: Streaming, cutoff: Cutoff) -> None:
        # Not Response.__init__: it would add `content-length: 0` to a body of unknown length.
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers.items()
        ]
        self.stream = stream
        self._cutoff = cutoff
        self._started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._pump(send))
        watch = asyncio.create_task(_wait_for_disconnect(receive))
        cutoff = self._cutoff.future()
        client_gone = cut = False
        try:
            done, _ = await asyncio.wait({pump, watch, cutoff}, return_when=asyncio.FIRST_COMPLETED)
            client_gone = pump not in done and watch in done
            cut = pump not in done and not client_gone
        finally:
            for task in (pump, watch):
                task.cancel()
            try:
                outcome = await asyncio.gather(pump, watch, return_exceptions=True)
                if isinstance(outcome[0], Exception):
                    log.warning("relay_failed", exc_info=outcome[0])
                if cut:
                    await self._end_cut(send)
            finally:
                await self.stream.ended(StreamEnd(client_gone=client_gone, cut=cut))

    async def _pump(self, send: Send) -> None:
        await self._start(send)
        async for chunk in self.stream.chunks:
            if self.stream.relay.finished:
                self.stream.answered()  # before the last event leaves (metering/journal.py)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _start(self, send: Send) -> None:
        self._started = True
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

    async def _end_cut(self, send: Send) -> None:
        """The relay stopped between two events (each chunk it yields ends on an event
        boundary, and a chunk is written whole or not at all), so the error event is read
        as one."""
        last = self.stream.last_words(shutting_down())
        try:
            async with asyncio.timeout(CUT_SEND_S):
                if not self._started:
                    await self._start(send)
                await send({"type": "http.response.body", "body": last, "more_body": False})
        except (TimeoutError, OSError):
            log.info("stream_cut_not_delivered")


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
