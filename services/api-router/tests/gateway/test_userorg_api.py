"""user-org's internal GETs survive a pooled connection that the server closes unanswered
(the keep-alive race), and still report a real outage."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from aistrale_common.internal_client import internal_client
from aistrale_router.userorg_api import LookupUnavailable, internal_get

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class ClosingServer:
    """Answers the first request of each connection and closes on the second, unread: what
    a server whose keep-alive timer fired does to a request that crossed it on the wire."""

    def __init__(self) -> None:
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        writer.close()


async def test_a_get_on_a_connection_closed_unanswered_is_asked_once_more() -> None:
    handler = ClosingServer()
    server = await asyncio.start_server(handler.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = internal_client(f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        assert await internal_get(client, "/a", {}) == b"{}"
        assert await internal_get(client, "/b", {}) == b"{}"  # the pooled one is closed
        assert handler.connections == 2
    finally:
        await client.aclose()
        server.close()


async def test_a_server_that_is_gone_is_unavailable() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = internal_client(f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(LookupUnavailable, match="unreachable"):
            await internal_get(client, "/a", {})
    finally:
        await client.aclose()


def test_the_client_drops_idle_connections_before_the_server_does() -> None:
    client = internal_client("http://127.0.0.1:1", timeout=1.0)
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(client, httpx.AsyncClient)
    assert pool._keepalive_expiry < 5  # uvicorn closes idle connections after 5 s
