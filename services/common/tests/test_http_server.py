"""One write per response turn, and streams still flow chunk by chunk."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from aistrale_common.http_server import CoalescingHttpToolsProtocol, CoalescingTransport
from aistrale_testkit.tcp_proxy import free_port


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_in_one_turn_leave_as_one() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next turn")
    await asyncio.sleep(0)
    assert real.writes[-1] == b"next turn"
    assert transport.get_extra_info("peername") == "info:peername"


async def test_close_sends_what_is_pending_first() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert real.writes == [b"last words"]
    assert real.closed
    await asyncio.sleep(0)
    assert real.writes == [b"last words"]  # the scheduled flush finds nothing more


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"%d;" % i, "more_body": True})
            await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})
    if scope["path"] == "/busy-after":
        time.sleep(0.5)  # bookkeeping after the answer, in the same event-loop turn


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        _app, port=port, log_level="warning", lifespan="off", http=CoalescingHttpToolsProtocol
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


async def test_responses_over_a_kept_alive_connection(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for _ in range(3):
            response = await client.get("/")
            assert response.text == "hello"
            assert response.headers["content-length"] == "5"


async def test_stream_chunks_arrive_as_they_are_sent(server: str) -> None:
    arrivals: list[tuple[float, bytes]] = []
    async with (
        httpx.AsyncClient(base_url=server) as client,
        client.stream("GET", "/stream") as response,
    ):
        began = time.perf_counter()
        async for piece in response.aiter_raw():
            arrivals.append((time.perf_counter() - began, piece))
    assert b"".join(p for _, p in arrivals) == b"0;1;2;"
    assert len(arrivals) >= 3
    assert arrivals[0][0] < 0.15  # the first chunk did not wait for the rest


async def test_a_complete_response_leaves_before_the_work_that_follows_it(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        began = time.perf_counter()
        response = await client.get("/busy-after")
        took = time.perf_counter() - began
    assert response.text == "hello"
    assert took < 0.4  # not after the 0.5 s the app spends once it has answered
