"""A raw HTTP upstream whose first path segment picks a scripted answer, in each
provider's real wire format: streams that end without a finish reason (bare `[DONE]`, or
the body ending after some content) for OpenAI-format servers, Anthropic and Gemini; a
llama.cpp server loading its model (503 + Retry-After); a llama.cpp server leaking
special tokens; and one that counts prompt tokens the way a chat template does."""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from typing import Any

import orjson

SYSTEM_DEFAULT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
LEAKY = "The capital of France is Paris.<|im_end|><end_of_turn><start_of_image>"


def template_tokens(messages: list[dict[str, Any]]) -> int:
    """SmolLM2's ChatML template, counted by a pessimistic tokenizer: every message is
    `<|im_start|>role\\n` content `<|im_end|>\\n` (5 tokens of framing), a default system
    prompt when the client sends none, and the generation prompt `<|im_start|>assistant\\n`."""
    rendered = list(messages)
    if not any(m.get("role") == "system" for m in messages):
        rendered.insert(0, {"role": "system", "content": SYSTEM_DEFAULT})
    return sum(5 + _text_tokens(str(m.get("content") or "")) for m in rendered) + 3


def _text_tokens(text: str) -> int:
    words = re.findall(r"\w+|[^\w\s]", text)
    return sum(math.ceil(len(w) / 4) for w in words)


def _chunk(delta: dict[str, Any], finish: str | None = None, model: str = "up") -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model}
    return b"data: " + orjson.dumps({**chunk, "choices": [choice]}) + b"\n\n"


ANTHROPIC_CUT = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":'
    b'"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,'
    b'"usage":{"input_tokens":21,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Paris is the"}}\n\n'
)
GEMINI_CUT = (
    b'data: {"candidates": [{"content": {"parts": [{"text": "Paris is"}],"role": "model"},'
    b'"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 2,'
    b'"totalTokenCount": 14},"modelVersion": "gemini-x"}\n\n'
)


# Streams that stop without ending: 200 and nothing after the headers (`silent`), or some
# content and then nothing (`idle`); the connection stays open until the router drops it.
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
_IDLE_EVENTS = _chunk({"role": "assistant", "content": ""}) + _chunk({"content": "Hel"})
HELD = {
    "silent": _SSE_HEAD,
    "idle": _SSE_HEAD + f"{len(_IDLE_EVENTS):x}\r\n".encode() + _IDLE_EVENTS + b"\r\n",
}
HOLD_S = 30.0


async def _hold(sent: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(sent)
    await writer.drain()
    try:
        async with asyncio.timeout(HOLD_S):
            await reader.read()  # until the router hangs up
    except TimeoutError:
        pass


class ScriptedUpstream:
    def __init__(self) -> None:
        self.port = 0
        self.requests: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> ScriptedUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    def base(self, mode: str, suffix: str = "/v1") -> str:
        return f"http://127.0.0.1:{self.port}/{mode}{suffix}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
            raw = await reader.readexactly(int(length.group(1))) if length else b""
            mode = head.split(b" ", 2)[1].split(b"/")[1].decode()
            body = orjson.loads(raw) if raw else {}
            if head.startswith(b"GET"):  # the router's health probe
                writer.write(_response(200, b'{"object":"list","data":[]}', "application/json"))
            else:
                self.requests[mode] += 1
                self.bodies.append(body)
                if mode in HELD:
                    await _hold(HELD[mode], reader, writer)
                    return
                writer.write(self._answer(mode, body))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _answer(self, mode: str, body: dict[str, Any]) -> bytes:
        if mode == "loading":  # llama.cpp's server while it loads the model
            error = {"error": {"code": 503, "message": "Loading model", "type": "unavailable"}}
            return _response(503, orjson.dumps(error), "application/json", ("retry-after", "7"))
        if mode == "traceback":  # llama-cpp-python's 500 on a bad `messages`, path and all
            message = (
                'Traceback (most recent call last):\n  File "/usr/lib/python3/site-packages/'
                'llama_cpp/llama_chat_format.py", line 228\nTypeError: string indices'
            )
            error = {"error": {"message": message, "type": "internal_server_error"}}
            return _response(400, orjson.dumps(error), "application/json")
        if mode == "bare-done":  # llama-cpp-python interrupted: no finish_reason, `[DONE]`
            events = _chunk({"role": "assistant", "content": ""}) + _chunk({"content": "Hel"})
            return _sse(events + b"data: [DONE]\n\n")
        if mode == "cut":  # the body ends after some content: no finish_reason, no `[DONE]`
            return _sse(_chunk({"role": "assistant", "content": ""}) + _chunk({"content": "Hel"}))
        if mode == "anthropic-cut":
            return _sse(ANTHROPIC_CUT)
        if mode == "gemini-cut":
            return _sse(GEMINI_CUT)
        if mode == "llama":
            return self._leaky(body)
        if mode == "template":
            return self._counted(body)
        return _response(404, b"{}", "application/json")

    def _leaky(self, body: dict[str, Any]) -> bytes:
        if body.get("stream"):
            events = _chunk({"role": "assistant", "content": ""}, model="local.gguf")
            events += _chunk({"content": LEAKY}, model="local.gguf")
            events += _chunk({}, "stop", model="local.gguf")
            return _sse(events + b"data: [DONE]\n\n")
        message = {"role": "assistant", "content": LEAKY}
        answer = {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "local.gguf",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        }
        return _response(200, orjson.dumps(answer), "application/json")

    def _counted(self, body: dict[str, Any]) -> bytes:
        """Generates exactly max_tokens tokens and reports the template's prompt count."""
        completion = int(body.get("max_tokens") or body.get("max_completion_tokens") or 1000)
        prompt = template_tokens(body["messages"])
        message = {"role": "assistant", "content": " ".join(["word"] * completion)}
        answer = {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "counted",
            "choices": [{"index": 0, "message": message, "finish_reason": "length"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
        return _response(200, orjson.dumps(answer), "application/json")


def _response(status: int, body: bytes, kind: str, *extra: tuple[str, str]) -> bytes:
    headers = [f"HTTP/1.1 {status} X", f"content-type: {kind}", f"content-length: {len(body)}"]
    headers += [f"{k}: {v}" for k, v in extra]
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + body


def _sse(events: bytes) -> bytes:
    """A whole chunked SSE body, properly terminated: the stream ends cleanly at HTTP level."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    head += b"transfer-encoding: chunked\r\n\r\n"
    return head + f"{len(events):x}\r\n".encode() + events + b"\r\n0\r\n\r\n"
