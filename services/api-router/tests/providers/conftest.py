"""Recorded provider wire fixtures, and the SSE replay helper, for the provider tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aistrale_router.streaming.sse import SseEvent, SseParser

FIXTURES = Path(__file__).parent / "fixtures"


def _raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _events(name: str) -> list[SseEvent]:
    parser = SseParser()
    data = _raw(name)
    events: list[SseEvent] = []
    # Feed in awkward 7-byte pieces: real sockets split events anywhere.
    for start in range(0, len(data), 7):
        events.extend(parser.feed(data[start : start + 7]))
    return events


@pytest.fixture
def raw() -> Callable[[str], bytes]:
    return _raw


@pytest.fixture
def fixture_json() -> Callable[[str], Any]:
    return lambda name: json.loads(_raw(name))


@pytest.fixture
def sse_events() -> Callable[[str], list[SseEvent]]:
    return _events


@pytest.fixture
async def serve() -> Any:
    """Starts aiohttp apps on real local ports; `await serve(app)` returns the base URL."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()
