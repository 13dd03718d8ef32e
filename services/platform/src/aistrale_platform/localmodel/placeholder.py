"""Holds the local model's port while the server is not there yet: every request gets a 503
in OpenAI's error shape that says what is happening and where to look, with Retry-After.

Without it, a request during the first start's compile found nothing listening and the
client read "The model's server could not be reached" for minutes, with no hint that this
is expected and ends. The router's health probe gets the same 503 (the model is not ready).
Released just before the real server binds the port; kept when the install failed, to say
why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from aistrale_platform.localmodel.status import LocalModelStatus, State

HEAD_LIMIT = 64 * 1024
READ_TIMEOUT_S = 5.0
RETRY_MIN_S, RETRY_MAX_S = 5, 120


def answer(status: LocalModelStatus) -> tuple[dict[str, str], bytes]:
    """Headers and body of the 503, from the status as it is now."""
    if status.state is State.FAILED:
        message = f"The local model ({status.model}) could not be started: {status.detail}"
        headers: dict[str, str] = {}
    else:
        left = f"; about {max(1, round(status.eta_s / 60))} min left" if status.eta_s else ""
        message = f"The local model ({status.model}) is {status.state.value}{left}"
        retry = RETRY_MIN_S if status.eta_s is None else round(status.eta_s)
        headers = {"retry-after": str(min(max(retry, RETRY_MIN_S), RETRY_MAX_S))}
    message += ". Progress: GET /ready (components.local-model)."
    error = {"message": message, "type": "server_error", "param": None, "code": "model_loading"}
    return headers, json.dumps({"error": error}).encode()


@contextlib.asynccontextmanager
async def placeholder(host: str, port: int, status: LocalModelStatus) -> AsyncIterator[None]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
        ):
            await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            headers, body = answer(status)
            writer.write(_response(headers, body))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, host, port, reuse_address=True)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEAD_LIMIT:
        raise ValueError("request head too large")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value.strip()))


def _response(headers: dict[str, str], body: bytes) -> bytes:
    lines = ["HTTP/1.1 503 Service Unavailable", "content-type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"content-length: {len(body)}", "connection: close", "", ""]
    return "\r\n".join(lines).encode() + body
