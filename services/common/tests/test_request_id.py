"""Every log line written while a request is served carries its request id, and only then."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from aistrale_common.logging import REQUEST_ID, _add_request_id
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.middleware import ObservabilityMiddleware

seen: list[dict[str, Any]] = []


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    seen.append(dict(_add_request_id(None, "info", {"event": "inside"})))
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_log_lines_carry_the_request_id_of_the_request_being_served() -> None:
    app = ObservabilityMiddleware(_app, ServiceMetrics("t"))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        given = await client.get("/", headers={"x-request-id": "req-given"})
        made = await client.get("/")
    assert seen[0]["request_id"] == "req-given" == given.headers["x-request-id"]
    assert seen[1]["request_id"] == made.headers["x-request-id"]
    assert len(made.headers["x-request-id"]) == 32
    assert REQUEST_ID.get() is None
    assert "request_id" not in _add_request_id(None, "info", {"event": "outside"})


async def test_a_client_request_id_is_kept_only_when_it_is_short_printable_ascii() -> None:
    app = ObservabilityMiddleware(_app, ServiceMetrics("t"))
    transport = httpx.ASGITransport(app)
    widest = "r" * 128
    refused = ["r" * 129, "tab\there", "caf\xe9", "bell\x07"]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        kept = await client.get("/", headers={"x-request-id": widest})
        replaced = [
            await client.get("/", headers=[(b"x-request-id", value.encode("latin-1"))])
            for value in refused
        ]
    assert kept.headers["x-request-id"] == widest
    for value, answer in zip(refused, replaced, strict=True):
        made = answer.headers["x-request-id"]
        assert made != value and len(made) == 32 and made.isalnum()
