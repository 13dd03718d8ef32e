"""A fake vLLM OpenAI server for tests and the bench: vLLM's wire format, no GPU.

It speaks what `vllm serve` speaks (v0.10-style): chat/completions/embeddings bodies and
stream chunks with vLLM's extra fields (`stop_reason`, `reasoning_content`...), the final
usage chunk with empty `choices` when `stream_options.include_usage` is set, `data: [DONE]`,
errors as `{"error": {message, type, param, code}}`, GET /v1/models, /health, and the
Prometheus gauges the router reads (`vllm:num_requests_running`, `..._waiting`,
`vllm:kv_cache_usage_perc`), written by prometheus_client as vLLM's are.

Load is real: with `max_num_seqs` (vLLM's `--max-num-seqs`) at most that many requests
generate at once and the others wait, counted in `num_requests_waiting`. `kv_cache_usage`
is reported as set; `metrics_status` other than 200 makes /metrics fail.

The upstream model name picks a behaviour: `fake-500` fails, `fake-slow` answers after
`slow_s`; any other name answers "Hello from fake vLLM ..." word by word. A prompt that
contains SLOW_STREAM streams one word every 50 ms (for disconnect tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

REPLY = "Hello from fake vLLM , a model that answers the same words every time ."


@dataclass
class FakeVllmLog:
    """What the fake saw, for assertions (the tests run it in a thread of their process)."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    streams_cancelled: int = 0
    requests_abandoned: int = 0  # non-streamed requests whose caller hung up while waiting
    words_streamed: list[int] = field(default_factory=list)
    running: int = 0
    waiting: int = 0
    metrics_scrapes: int = 0


def prompt_tokens(body: dict[str, Any]) -> int:
    text = orjson.dumps(body.get("messages") or body.get("prompt") or body.get("input") or "")
    return len(text.split()) + 7


def _error(status: int, message: str, type_: str) -> Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": status}}
    return Response(orjson.dumps(body), status, media_type="application/json")


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "completion_tokens": completion,
        "prompt_tokens_details": None,
    }


def _words(body: dict[str, Any]) -> list[str]:
    words = REPLY.split(" ")
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if "SLOW_STREAM" in orjson.dumps(body.get("messages")).decode():
        words = words * 40
    return words[:limit] if isinstance(limit, int) else words


def _chat_problem(body: dict[str, Any]) -> str | None:
    """What vLLM's request model refuses with a 400 (a malformed body never reaches it)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
    ):
        return "messages: a list of objects with a role is required"
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list)
        and all(
            isinstance(t, dict)
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
            for t in tools
        )
    ):
        return "tools: a list of function tools is required"
    return None


def _tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The first tool, called, unless the tool's result is already the last message (a
    model then answers in words)."""
    tools = body.get("tools") or []
    messages = body.get("messages") or [{}]
    if not tools or body.get("tool_choice") == "none" or messages[-1].get("role") == "tool":
        return None
    name = tools[0]["function"]["name"]
    return {
        "id": f"chatcmpl-tool-{uuid.uuid4().hex}",
        "type": "function",
        "function": {"name": name, "arguments": '{"city": "Paris"}'},
    }


def _tool_chunks(head: dict[str, Any], tool: dict[str, Any]) -> list[bytes]:
    function = tool["function"]
    named = {**tool, "index": 0, "function": {"name": function["name"], "arguments": ""}}
    delta = {"index": 0, "function": {"arguments": function["arguments"]}}
    return [
        _chunk(head, {"index": 0, "delta": {"tool_calls": [named]}, "finish_reason": None}),
        _chunk(head, {"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}),
        _chunk(head, {"index": 0, "delta": {}, "finish_reason": "tool_calls"}),
    ]


class _Gauges:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["model_name", "engine"]
        self.running = Gauge(
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            labels,
            registry=self.registry,
        )
        self.waiting = Gauge(
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            labels,
            registry=self.registry,
        )
        self.kv = Gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            labels,
            registry=self.registry,
        )


class FakeVllm:
    def __init__(
        self,
        *,
        slow_s: float = 3.0,
        word_delay_s: float = 0.0,
        max_num_seqs: int | None = None,
        served_model_name: str = "fake-chat",
    ) -> None:
        self.log = FakeVllmLog()
        self.slow_s = slow_s
        self.word_delay_s = word_delay_s
        self.served_model_name = served_model_name
        self.kv_cache_usage = 0.0
        self.metrics_status = 200
        self.fail_status: int | None = None  # set: every generation fails with it (a sick GPU)
        self.reported_waiting: int | None = None  # set: /metrics reports this queue instead
        self._seqs = asyncio.Semaphore(max_num_seqs) if max_num_seqs else None
        self._gauges = _Gauges()
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/completions", self.completions, methods=["POST"]),
                Route("/v1/embeddings", self.embeddings, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
            ]
        )

    async def _accept(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _error(400, "Invalid JSON body", "BadRequestError")
        self.log.bodies.append(body)
        self.log.headers.append(dict(request.headers))
        model = body.get("model")
        if self.fail_status is not None:
            return _error(self.fail_status, "CUDA error: device unavailable", "InternalServerError")
        if model == "fake-500":
            return _error(500, "CUDA error: an illegal memory access", "InternalServerError")
        if model == "fake-slow" and await self._abandoned_while_waiting(request):
            return _error(499, "client disconnected", "ClientDisconnected")
        if not isinstance(body.get("max_tokens", 1), int):
            return _error(400, "max_tokens must be an integer", "BadRequestError")
        return dict(body)

    async def _abandoned_while_waiting(self, request: Request) -> bool:
        """Waits `slow_s` unless the caller hangs up first (vLLM aborts such requests)."""
        deadline = asyncio.get_running_loop().time() + self.slow_s
        while asyncio.get_running_loop().time() < deadline:
            if await request.is_disconnected():
                self.log.requests_abandoned += 1
                return True
            await asyncio.sleep(0.05)
        return False

    @contextlib.asynccontextmanager
    async def _scheduled(self) -> AsyncIterator[None]:
        """Waits for a free sequence slot, as vLLM's scheduler queues what it cannot run."""
        log = self.log
        log.waiting += 1
        try:
            if self._seqs is not None:
                await self._seqs.acquire()
        finally:
            log.waiting -= 1
        log.running += 1
        try:
            yield
        finally:
            log.running -= 1
            if self._seqs is not None:
                self._seqs.release()

    async def chat(self, request: Request) -> Response:
        body = await self._accept(request)
        if isinstance(body, Response):
            return body
        problem = _chat_problem(body)
        if problem is not None:
            return _error(400, problem, "BadRequestError")
        if body.get("stream"):
            return StreamingResponse(self._chat_stream(body), media_type="text/event-stream")
        async with self._scheduled():
            return self._chat_answer(body)

    def _chat_answer(self, body: dict[str, Any]) -> Response:
        words = _words(body)
        tool = _tool_call(body)
        message = {
            "role": "assistant",
            "reasoning_content": None,
            "content": None if tool else " ".join(words),
            "tool_calls": [tool] if tool else [],
        }
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": "tool_calls" if tool else "stop",
            "stop_reason": None,
        }
        choices = [{**choice, "index": i} for i in range(int(body.get("n") or 1))]
        completion = len(words) * len(choices)
        return _json(
            {
                **_head(body, "chatcmpl", "chat.completion"),
                "choices": choices,
                "usage": _usage(prompt_tokens(body), completion),
                "prompt_logprobs": None,
                "kv_transfer_params": None,
            }
        )

    async def _chat_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        head = _head(body, "chatcmpl", "chat.completion.chunk")
        words = _words(body)
        delay = 0.05 if len(words) > 100 else self.word_delay_s
        sent = 0
        try:
            async with self._scheduled():
                n = int(body.get("n") or 1)  # vLLM interleaves the choices, one per chunk
                first = {"role": "assistant", "content": ""}
                for index in range(n):
                    opening = {"index": index, "delta": first, "logprobs": None}
                    yield _chunk(head, {**opening, "finish_reason": None})
                tool = _tool_call(body)
                if tool is not None:  # vLLM's tool parser: the call, then its arguments
                    for chunk in _tool_chunks(head, tool):
                        yield chunk
                    words, sent = [], 2
                cut = "CUT_STREAM" in orjson.dumps(body.get("messages")).decode()
                for i, word in enumerate(words):
                    if cut and i == 3:
                        raise RuntimeError("the fake's GPU fell over mid-stream")
                    if delay:
                        await asyncio.sleep(delay)
                    delta = {"content": word if i == 0 else " " + word}
                    last = i == len(words) - 1
                    for index in range(n):
                        choice = {"index": index, "delta": delta, "logprobs": None}
                        choice["finish_reason"] = "stop" if last else None
                        if last:
                            choice["stop_reason"] = None
                        yield _chunk(head, choice)
                        sent += 1
                options = body.get("stream_options") or {}
                if options.get("include_usage"):
                    usage = {**head, "choices": [], "usage": _usage(prompt_tokens(body), sent)}
                    yield b"data: " + orjson.dumps(usage) + b"\n\n"
                yield b"data: [DONE]\n\n"
        except (asyncio.CancelledError, GeneratorExit):
            self.log.streams_cancelled += 1
            raise
        finally:
            self.log.words_streamed.append(sent)

    async def completions(self, request: Request) -> Response:
        body = await self._accept(request)
        if isinstance(body, Response):
            return body
        async with self._scheduled():
            return self._completion_answer(body)

    def _completion_answer(self, body: dict[str, Any]) -> Response:
        words = _words(body)
        choice = {
            "text": " ".join(words),
            "logprobs": None,
            "finish_reason": "stop",
            "stop_reason": None,
            "prompt_logprobs": None,
        }
        prompt = body.get("prompt")
        prompts = len(prompt) if isinstance(prompt, list) and isinstance(prompt[0], str) else 1
        count = prompts * int(body.get("n") or 1)
        return _json(
            {
                **_head(body, "cmpl", "text_completion"),
                "choices": [{"index": i, **choice} for i in range(count)],
                "usage": _usage(prompt_tokens(body), len(words) * count),
            }
        )

    async def embeddings(self, request: Request) -> Response:
        body = await self._accept(request)
        if isinstance(body, Response):
            return body
        async with self._scheduled():
            return self._embedding_answer(body)

    def _embedding_answer(self, body: dict[str, Any]) -> Response:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"index": i, "object": "embedding", "embedding": [0.125, -0.5, float(i)]}
            for i in range(len(inputs))
        ]
        return _json(
            {
                **_head(body, "embd", "list"),
                "data": data,
                "usage": _usage(prompt_tokens(body), 0),
            }
        )

    async def models(self, request: Request) -> Response:
        names = {str(b.get("model")) for b in self.log.bodies} or {"fake-chat"}
        data = [
            {"id": n, "object": "model", "created": int(time.time()), "owned_by": "vllm", "root": n}
            for n in sorted(names)
        ]
        return _json({"object": "list", "data": data})

    async def health(self, request: Request) -> Response:
        return Response(b"", 200)

    async def metrics(self, request: Request) -> Response:
        self.log.metrics_scrapes += 1
        if self.metrics_status != 200:
            return Response(b"Internal Server Error", self.metrics_status)
        gauges, labels = self._gauges, (self.served_model_name, "0")
        gauges.running.labels(*labels).set(self.log.running)
        waiting = self.log.waiting if self.reported_waiting is None else self.reported_waiting
        gauges.waiting.labels(*labels).set(waiting)
        gauges.kv.labels(*labels).set(self.kv_cache_usage)
        return Response(generate_latest(gauges.registry), media_type="text/plain; version=0.0.4")


def _head(body: dict[str, Any], prefix: str, obj: str) -> dict[str, Any]:
    return {
        "id": f"{prefix}-{uuid.uuid4().hex}",
        "object": obj,
        "created": int(time.time()),
        "model": body.get("model"),
    }


def _chunk(head: dict[str, Any], choice: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps({**head, "choices": [choice]}) + b"\n\n"


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")
