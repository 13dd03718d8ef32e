"""Keep-alive connections to one origin (scheme, host, port), at most `limit` at once."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass

from aistrale_router.upstream.lean.connection import Connection
from aistrale_router.upstream.port import UpstreamTimedOut, UpstreamUnreachable


@dataclass(frozen=True, slots=True)
class Origin:
    host: str
    port: int
    tls: bool

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class OriginPool:
    def __init__(
        self,
        origin: Origin,
        *,
        limit: int,
        connect_timeout_s: float,
        idle_timeout_s: float,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self._origin = origin
        self._limit = limit
        self._connect_timeout_s = connect_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._tls = tls_context
        self._idle: list[Connection] = []
        self._open = 0  # idle + busy + connecting
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()

    async def acquire(self) -> tuple[Connection, bool]:
        """A connection and whether it was used before (a reused one may be stale)."""
        while True:
            conn = self._take_idle()
            if conn is not None:
                return conn, True
            if self._open < self._limit:
                self._open += 1
                try:
                    return await self._connect(), False
                except BaseException:
                    self._open -= 1
                    self._wake_one(None)
                    raise
            handed = await self._wait_turn()
            if handed is not None:
                return handed, True

    def release(self, conn: Connection) -> None:
        if not conn.reusable:
            conn.close()
            self._open -= 1
            self._wake_one(None)  # a waiter may open a new connection now
            return
        conn.idle_since = asyncio.get_running_loop().time()
        if not self._wake_one(conn):
            self._idle.append(conn)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._open -= len(self._idle)
        self._idle.clear()

    def _take_idle(self) -> Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            conn = self._idle.pop()  # most recently used: the least likely to be stale
            if not conn.closed and now - conn.idle_since < self._idle_timeout_s:
                return conn
            conn.close()
            self._open -= 1
        return None

    async def _wait_turn(self) -> Connection | None:
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                return await waiter
        except BaseException as exc:
            self._pass_on(waiter)
            if isinstance(exc, TimeoutError):
                raise UpstreamTimedOut("no upstream connection free in time") from exc
            raise

    def _pass_on(self, waiter: asyncio.Future[Connection | None]) -> None:
        """A waiter gave up: what it was handed (a connection, or a free slot) goes on."""
        if not waiter.done() or waiter.cancelled():
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            return
        handed = waiter.result()
        if handed is not None:
            self.release(handed)
        else:
            self._wake_one(None)

    def _wake_one(self, conn: Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        origin = self._origin
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=self._tls if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                )
        except TimeoutError as exc:
            raise UpstreamTimedOut("could not connect to upstream in time") from exc
        except OSError as exc:
            raise UpstreamUnreachable("connection refused or failed") from exc
        return conn
