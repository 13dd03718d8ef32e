"""One keep-alive HTTP/1.1 connection carrying one exchange at a time."""

from __future__ import annotations

import asyncio
from typing import cast

import httptools

from aistrale_router.upstream.lean.headers import ResponseHeaders
from aistrale_router.upstream.port import UpstreamBroken, UpstreamTimedOut

# Past this many unread body bytes the socket stops being read: a slow client slows the
# upstream instead of growing the router's memory.
HIGH_WATER = 1 << 20


class ConnectionLost(Exception):
    """The connection ended before the exchange did."""

    def __init__(self, *, before_response: bool) -> None:
        super().__init__("connection lost")
        self.before_response = before_response


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(UpstreamTimedOut("no data from upstream in time"))


class Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self.status = 0
        self.headers: ResponseHeaders | None = None
        self.complete = False
        self.closed = False
        self.keep_alive = False
        self.got_bytes = False
        self.idle_since = loop.time()

    # -- asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.keep_alive = False
            self._fail(UpstreamBroken("malformed response from upstream"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete:
            self._fail(ConnectionLost(before_response=self.headers is None))

    # -- httptools callbacks ----------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        self.headers = ResponseHeaders(self._raw_headers)
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._pieces.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # -- the exchange -----------------------------------------------------------------
    def send(self, head: bytes, body: bytes) -> None:
        """Starts a new exchange on an idle connection."""
        self._raw_headers = []
        self._pieces = []
        self._buffered = 0
        self.status = 0
        self.headers = None
        self.complete = False
        self.got_bytes = False
        assert self._transport is not None
        self._transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self._transport.write(body)

    async def wait_headers(self) -> None:
        while self.headers is None:
            await self._wait(None)

    async def next_piece(self, timeout_s: float) -> bytes | None:
        """The body bytes received so far (joined), or None once the body is complete."""
        while not self._pieces:
            if self.complete:
                return None
            await self._wait(timeout_s)
        data = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        self._pieces = []
        self._buffered = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return data

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    async def _wait(self, timeout_s: float | None) -> None:
        if self.closed and not self.complete:
            raise ConnectionLost(before_response=self.headers is None)
        waiter = self._loop.create_future()
        self._waiter = waiter
        timer = self._loop.call_later(timeout_s, _expire, waiter) if timeout_s else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
