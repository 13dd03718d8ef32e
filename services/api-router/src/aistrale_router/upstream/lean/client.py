"""`LeanUpstream`: the production `UpstreamClient` (see the package docstring)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

from aistrale_router.upstream.lean.connection import Connection, ConnectionLost
from aistrale_router.upstream.lean.pool import Origin, OriginPool
from aistrale_router.upstream.port import (
    TransportSettings,
    UpstreamBroken,
    UpstreamResponse,
    UpstreamTimedOut,
    UpstreamUnreachable,
)

# Request headers the client sets itself; a caller's copy would corrupt the framing.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
IDLE_TIMEOUT_S = 30.0


class _Response:
    __slots__ = ("_conn", "_pool", "_released", "_timeout_s", "headers", "status")

    def __init__(self, conn: Connection, pool: OriginPool, chunk_timeout_s: float) -> None:
        assert conn.headers is not None
        self._conn = conn
        self._pool = pool
        self._timeout_s = chunk_timeout_s
        self._released = False
        self.status = conn.status
        self.headers: Mapping[str, str] = conn.headers

    async def read(self) -> bytes:
        pieces = [piece async for piece in self.chunks()]
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        try:
            while (piece := await conn.next_piece(self._timeout_s)) is not None:
                yield piece
        except ConnectionLost as exc:
            raise UpstreamBroken("upstream closed the connection mid-body") from exc
        if not self._released:
            self._released = True
            self._pool.release(conn)  # complete: back to the pool at once

    async def close(self) -> None:
        # Mid-body the connection cannot be reused: closing it tells upstream to stop.
        if not self._released:
            self._released = True
            self._pool.release(self._conn)


class LeanUpstream:
    def __init__(self, settings: TransportSettings) -> None:
        self._settings = settings
        self._pools: dict[tuple[str, int, bool], OriginPool] = {}
        self._targets: dict[str, tuple[OriginPool, bytes]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        return await self._exchange("POST", url, headers, body)

    async def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        # No accept-encoding is sent, so the body comes back as it is.
        response: _Response | None = None
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._exchange("GET", url, headers, b"")
                body = await response.read()
        except TimeoutError as exc:
            raise UpstreamTimedOut("upstream did not answer in time") from exc
        except UpstreamBroken as exc:
            raise UpstreamUnreachable(str(exc)) from exc
        finally:
            if response is not None:
                await response.close()
        return response.status, body

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._targets.clear()

    async def _exchange(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> _Response:
        pool, start = self._route(method, url)
        head = start + _head(headers, body, method)
        for _ in range(2):
            conn, reused = await pool.acquire()
            try:
                conn.send(head, body)
                await conn.wait_headers()
            except ConnectionLost as exc:
                pool.release(conn)
                # An idle connection the server had just closed: one retry on a fresh one.
                if reused and exc.before_response and not conn.got_bytes:
                    continue
                raise UpstreamUnreachable("upstream closed the connection") from exc
            except BaseException:
                pool.release(conn)  # cancelled or timed out: not reusable, closed
                raise
            return _Response(conn, pool, self._settings.upstream_chunk_timeout_s)
        raise UpstreamUnreachable("upstream closed the connection")

    def _route(self, method: str, url: str) -> tuple[OriginPool, bytes]:
        key = method + " " + url
        cached = self._targets.get(key)
        if cached is not None:
            return cached
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamUnreachable("upstream URL is not http(s)")
        origin = Origin(parts.hostname, parts.port or (443 if tls else 80), tls)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        start = f"{method} {target} HTTP/1.1\r\nhost: {origin.host_header}\r\n".encode("latin-1")
        entry = (self._pool(origin), start)
        if len(self._targets) < 4096:  # URLs come from the catalog: a small, fixed set
            self._targets[key] = entry
        return entry

    def _pool(self, origin: Origin) -> OriginPool:
        key = (origin.host, origin.port, origin.tls)
        pool = self._pools.get(key)
        if pool is None:
            if origin.tls and self._tls is None:
                self._tls = ssl.create_default_context(cafile=self._settings.upstream_ca_file)
            pool = OriginPool(
                origin,
                limit=self._settings.upstream_max_connections,
                connect_timeout_s=self._settings.upstream_connect_timeout_s,
                idle_timeout_s=IDLE_TIMEOUT_S,
                tls_context=self._tls,
            )
            self._pools[key] = pool
        return pool


def _head(headers: dict[str, str], body: bytes, method: str) -> bytes:
    lines = [f"{name}: {value}\r\n" for name, value in headers.items() if _allowed(name, value)]
    if method == "POST":
        lines.append(f"content-length: {len(body)}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def _allowed(name: str, value: str) -> bool:
    if name.lower() in _OWN_HEADERS:
        return False
    # Header injection: a value with a line break would start a new header or request.
    return "\r" not in value and "\n" not in value and "\r" not in name and "\n" not in name
