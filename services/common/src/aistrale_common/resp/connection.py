"""One Redis connection with calls in flight, replies matched in order."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aistrale_common.resp.codec import INCOMPLETE, decode


class RespConnection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._outgoing: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop: duck-typed

    def data_received(self, data: bytes) -> None:
        self._buf += data
        pos = 0
        try:
            while self._waiting:
                value, after = decode(self._buf, pos)
                if value is INCOMPLETE:
                    break
                pos = after
                waiter = self._waiting.popleft()
                if waiter.done():
                    continue  # its caller gave up (cancelled); the reply is dropped
                if isinstance(value, ResponseError):
                    waiter.set_exception(value)
                else:
                    waiter.set_result(value)
        except (ValueError, ResponseError) as exc:
            self._fail(RedisConnectionError(f"unreadable reply from Redis: {exc}"))
            return
        del self._buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError("connection to Redis lost"))

    def call(self, payload: bytes) -> asyncio.Future[Any]:
        if self.closed or self._transport is None:
            raise RedisConnectionError("connection to Redis closed")
        waiter: asyncio.Future[Any] = self._loop.create_future()
        self._waiting.append(waiter)
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(payload)
        return waiter

    def timed_out(self) -> None:
        """A reply overdue: the order of what follows is unknown, so nothing is trusted."""
        self._fail(RedisTimeoutError("Redis did not answer in time"))

    def close(self) -> None:
        self._fail(RedisConnectionError("connection to Redis closed"))

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if outgoing and not self.closed and self._transport is not None:
            self._transport.write(outgoing[0] if len(outgoing) == 1 else b"".join(outgoing))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        self._outgoing = []
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(exc)
        if self._transport is not None:
            self._transport.close()
