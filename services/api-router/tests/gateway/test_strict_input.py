"""Strict input at the router (issue 20), through a real router process: `messages` checked
against OpenAI's schema before anything goes upstream (the fake vLLM sees nothing), JSON
nesting bounded (400, never a 500 or a RecursionError), request heads bounded (431, over a
raw socket: no HTTP client sends such heads)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Iterator
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


@dataclass
class Stack:
    url: str
    key: str
    vllm: FakeVllm


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("strict")
    vllm = FakeVllm()
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    key = "sk-test-" + secrets.token_hex(16)
    record = {"key_id": "key_strict", "org_id": "org_strict", "status": "active"}
    userorg.add_key(key, KeyRecord.model_validate(record))
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        deployment = {"provider": "vllm", "base_url": f"{vllm_url}/v1", "model": "fake-chat"}
        catalog = {"models": [{"name": "chat-model", "deployments": [deployment]}]}
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog))
        with router_process(infra, tmp, userorg_url, userorg.service_token, models) as url:
            yield Stack(url, key, vllm)


async def _post(stack: Stack, content: bytes) -> httpx.Response:
    headers = {"authorization": f"Bearer {stack.key}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        return await client.post("/v1/chat/completions", content=content, headers=headers)


def _chat(messages: Any) -> bytes:
    return orjson.dumps({"model": "chat-model", "messages": messages})


USER = {"role": "user", "content": "hi"}
INVALID: list[tuple[Any, str]] = [
    ("hello", "messages"),
    (42, "messages"),
    ({"role": "user", "content": "hi"}, "messages"),
    ([1, 2, 3], "messages[0]"),
    ([], "messages"),
    ([USER, {"content": "no role"}], "messages[1].role"),
    ([USER, USER, {"role": "wizard", "content": "x"}], "messages[2].role"),
    ([USER, USER, {"role": "user", "content": 7}], "messages[2].content"),
    ([{"role": "user"}], "messages[0].content"),
    ([{"role": "user", "content": []}], "messages[0].content"),
    ([{"role": "user", "content": ["text"]}], "messages[0].content[0]"),
    ([{"role": "user", "content": [{"text": "x"}]}], "messages[0].content[0].type"),
    ([{"role": "user", "content": [{"type": "text"}]}], "messages[0].content[0].text"),
    ([{"role": "user", "content": [{"type": "text", "text": 5}]}], "messages[0].content[0].text"),
    ([{"role": "user", "content": [{"type": "video"}]}], "messages[0].content[0].type"),
    (
        [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
        "messages[0].content[0].image_url.url",
    ),
    ([{"role": "system", "content": [{"type": "image_url"}]}], "messages[0].content[0].type"),
    ([USER, {"role": "tool", "content": "42"}], "messages[1].tool_call_id"),
    ([USER, {"role": "assistant"}], "messages[1].content"),
    ([USER, {"role": "assistant", "tool_calls": "x", "content": None}], "messages[1].tool_calls"),
    ([{"role": "user", "content": "x", "name": 3}], "messages[0].name"),
]


@pytest.mark.parametrize(("messages", "param"), INVALID)
async def test_invalid_messages_are_refused_before_upstream(
    stack: Stack, messages: Any, param: str
) -> None:
    before = len(stack.vllm.log.bodies)
    answer = await _post(stack, _chat(messages))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    assert len(stack.vllm.log.bodies) == before  # nothing went upstream


async def test_valid_messages_of_every_role_pass(stack: Stack) -> None:
    messages = [
        {"role": "developer", "content": "be brief"},
        {"role": "system", "content": [{"type": "text", "text": "be kind"}]},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}}],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        {"role": "user", "content": "and?", "name": "ann"},
    ]
    answer = await _post(stack, _chat(messages))
    assert answer.status_code == 200, answer.text


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [65, 300, 500, 2000])
async def test_deep_json_is_a_400_not_a_500(stack: Stack, depth: int) -> None:
    in_content = {"role": "user", "content": [{"type": "text", "text": "x"}], "x": _nested(depth)}
    bodies = [
        b'{"model":"chat-model","messages":[' + b"[" * depth + b"]" * depth + b"]}",
        # the stdlib encoder: orjson refuses to write past 255 levels
        json.dumps({"model": "chat-model", "messages": [in_content]}).encode()
        if depth < 900
        else b"[" * depth + b"]" * depth,
        b'{"model":"chat-model","messages":[{"role":"user","content":"hi"}],"metadata":'
        + b"[" * depth
        + b"]" * depth
        + b"}",
    ]
    for body in bodies:
        answer = await _post(stack, body)
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error"]["type"] == "invalid_request_error"


async def test_shallow_nesting_under_the_limit_passes(stack: Stack) -> None:
    body = {"model": "chat-model", "messages": [USER], "metadata": {"a": _nested(40)}}
    answer = await _post(stack, orjson.dumps(body))
    assert answer.status_code == 200, answer.text


async def _raw(stack: Stack, head: bytes) -> bytes:
    host, port = stack.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head)
        with contextlib.suppress(ConnectionError):  # closed once the router had seen enough
            await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read(4096)
    finally:
        writer.close()


@pytest.mark.parametrize(
    "headers",
    [
        b"x-big: " + b"a" * (8 * 1024 * 1024) + b"\r\n",  # one 8 MB value
        b"".join(b"x-h%d: v\r\n" % i for i in range(20_000)),  # 20,000 headers
        b"".join(b"x-h%d: v\r\n" % i for i in range(300)),  # over the count, under the size
    ],
    ids=["8MB-value", "20000-headers", "300-headers"],
)
async def test_oversized_request_heads_get_431(stack: Stack, headers: bytes) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n" + headers
    answer = await _raw(stack, head + b"content-length: 2\r\n\r\n{}")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    body = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "request_header_fields_too_large"


async def test_ordinary_heads_still_pass(stack: Stack) -> None:
    extra = b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 100) for i in range(50))
    head = b"GET /health HTTP/1.1\r\nhost: x\r\n" + extra + b"connection: close\r\n\r\n"
    answer = await _raw(stack, head)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
