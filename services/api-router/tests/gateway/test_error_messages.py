"""What a client reads when upstream fails never names the router's insides: a real router
process (both production upstream clients) in front of upstreams that refuse connections,
speak plain HTTP to TLS, never answer, answer garbage, break off mid-body or mid-stream, or
answer 500 with a Python traceback. Each failure has its status and a fixed phrase in
OpenAI's shape; a stream ends with an error event and `[DONE]`."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import yaml

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import router_process
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

# A Python class name (ValueError, ClientConnectorError, ConnectError...) or a traceback.
INTERNALS = re.compile(r"[A-Z][a-z]+(?:Error|Exception)\b|Traceback|<class |\bFile \"")
TRACEBACK = (
    b'Traceback (most recent call last):\n  File "/srv/app.py", line 7, in handle\n'
    b"ValueError: boom\n"
)
MESSAGES = [{"role": "user", "content": "fail me"}]


class Misbehaving:
    """One raw HTTP server; the first path segment of the deployment's base_url says how
    it fails."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Misbehaving:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.readexactly(1)
            if first == b"\x16":  # a TLS handshake: answer as a plain HTTP server would
                writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                return
            head = first + await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
            body = await reader.readexactly(int(length.group(1))) if length else b""
            mode = head.split(b" ", 2)[1].split(b"/")[1].decode()
            writer.write(self._answer(mode, orjson.loads(body) if body else {}))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _answer(self, mode: str, body: dict[str, Any]) -> bytes:
        if mode == "garbage":
            return b"NOT HTTP AT ALL\r\n\r\n"
        if mode == "traceback":
            head = f"HTTP/1.1 500 X\r\ncontent-type: text/plain\r\ncontent-length: {len(TRACEBACK)}"
            return head.encode() + b"\r\n\r\n" + TRACEBACK
        if body.get("stream"):  # one event, then the connection drops mid-stream
            event = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,'
            event += b'"delta":{"content":"Hel"},"finish_reason":null}]}\n\n'
            return (
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n" + f"{len(event):x}\r\n".encode() + event
            )
        return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"


@dataclass
class Stack:
    url: str
    key: str


@pytest.fixture(scope="module")
async def misbehaving() -> AsyncIterator[Misbehaving]:
    server = await Misbehaving().start()
    yield server
    await server.stop()


@pytest.fixture(scope="module", params=["lean", "aiohttp"])
def stack(
    request: pytest.FixtureRequest,
    infra: Infra,
    tmp_path_factory: pytest.TempPathFactory,
    misbehaving: Misbehaving,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp(f"errors-{request.param}")
    vllm = FakeVllm(slow_s=5.0)
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    key = "sk-test-" + secrets.token_hex(16)
    record = {"key_id": "key_errors", "org_id": "org_errors", "status": "active"}
    userorg.add_key(key, KeyRecord.model_validate(record))
    raw = f"127.0.0.1:{misbehaving.port}"
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        bases = {
            "refused": f"http://127.0.0.1:{free_port()}/v1",
            "tls": f"https://{raw}/tls/v1",  # a TLS client hello to a plain HTTP server
            "slow": f"{vllm_url}/v1",
            "garbage": f"http://{raw}/garbage/v1",
            "broken": f"http://{raw}/broken/v1",
            "traceback": f"http://{raw}/traceback/v1",
        }
        catalog = {
            "models": [
                {
                    "name": name,
                    "deployments": [{"provider": "vllm", "base_url": base, "model": "fake-slow"}],
                }
                for name, base in bases.items()
            ]
        }
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog))
        env = {"AISTRALE_UPSTREAM_CLIENT": request.param}
        with router_process(infra, tmp, userorg_url, userorg.service_token, models, env) as url:
            yield Stack(url, key)


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("refused", 503, "service_unavailable"),
        ("tls", 503, "service_unavailable"),
        ("slow", 504, "upstream_timeout"),
        ("garbage", 502, "upstream_error"),
        ("broken", 502, "upstream_error"),
        ("traceback", 502, "upstream_error"),
    ],
)
async def test_a_failed_answer_says_what_failed_in_plain_words(
    stack: Stack, model: str, status: int, code: str
) -> None:
    answer = await _post(stack, {"model": model, "messages": MESSAGES})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code
    assert not INTERNALS.search(answer.text), answer.text


async def test_a_stream_broken_off_ends_with_an_error_event(stack: Stack) -> None:
    answer = await _post(stack, {"model": "broken", "messages": MESSAGES, "stream": True})
    assert answer.status_code == 200
    events = [e for e in answer.text.split("\n\n") if e]
    assert events[0].startswith("data: ") and "Hel" in events[0]
    error = orjson.loads(events[-2].removeprefix("data: "))["error"]
    assert error["code"] == "upstream_error" and events[-1] == "data: [DONE]"
    assert error["message"] == "The model's server broke off the stream."
    assert not INTERNALS.search(answer.text), answer.text


async def _post(
    stack: Stack, body: dict[str, Any], path: str = "/v1/chat/completions"
) -> httpx.Response:
    headers = {"authorization": f"Bearer {stack.key}"}
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        return await client.post(path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("model", "status", "kind"),
    [
        ("refused", 503, "overloaded_error"),
        ("slow", 504, "api_error"),
        ("garbage", 502, "api_error"),
    ],
)
async def test_a_failed_message_is_in_anthropics_shape(
    stack: Stack, model: str, status: int, kind: str
) -> None:
    body = {"model": model, "max_tokens": 5, "messages": MESSAGES}
    answer = await _post(stack, body, "/v1/messages")
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == kind
    assert not INTERNALS.search(answer.text), answer.text


async def test_a_messages_stream_broken_off_ends_with_an_error_event(stack: Stack) -> None:
    body = {"model": "broken", "max_tokens": 5, "messages": MESSAGES, "stream": True}
    answer = await _post(stack, body, "/v1/messages")
    events = _events(answer.text)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1]["error"]["message"] == "The model's server broke off the stream."


def _events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], orjson.loads(lines["data"])))
    return events
