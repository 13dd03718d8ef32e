"""`make bench` (a few seconds): what the Responses API's translation adds to a request.

The same conversation asked two ways, in this process, with what the gateway does per
request for each: /v1/chat/completions parses the client's chat body (`parse_request`);
/v1/responses parses the Responses body, translates it into the chat body and checks that
(`ResponsesProtocol.parse` with `store: false` and `translated_request`), then turns
upstream's `chat.completion` into a Response object. Streams: a 64-chunk chat SSE stream
relayed as is vs translated into Responses events (reported per event: each event waits
for its own translation only). Everything else on the path (key,
admission, routing, the upstream call, metering) is the same code for both, so the
difference of the medians is the translation's added latency. Interleaved rounds, so the
shared machine's load hits both alike. Target: <= 100 us (0.1 ms) at p50.
Prints a table; writes bench/results/responses.json.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from aistrale_router.gateway.request import parse_request, translated_request
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.responses.protocol import ResponsesProtocol
from aistrale_router.protocols.responses.stream import ResponsesStream
from bench import interleaved

TARGET_US = 100.0
RESULTS = Path(__file__).parent / "results" / "responses.json"
SYSTEM = "You are a careful assistant. " * 40
TURNS = [("user", "Summarise the attached report."), ("assistant", "It says " * 30)]
CHAT = orjson.dumps(
    {
        "model": "m",
        "max_tokens": 256,
        "messages": [{"role": "system", "content": SYSTEM}]
        + [{"role": r, "content": c} for r, c in TURNS]
        + [{"role": "user", "content": "And the risks?"}],
    }
)
RESPONSES = orjson.dumps(
    {
        "model": "m",
        "instructions": SYSTEM,
        "max_output_tokens": 256,
        "store": False,
        "input": [{"role": r, "content": c} for r, c in TURNS]
        + [{"role": "user", "content": "And the risks?"}],
    }
)
ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The risks are " * 40},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 420, "completion_tokens": 120, "total_tokens": 540},
    }
)
KEY = KeyRecord(key_id="bench", org_id="bench", status="active")


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return b"data: " + orjson.dumps({"id": "c", "model": "m", "choices": [choice]}) + b"\n\n"


USAGE = orjson.dumps({"id": "c", "choices": [], "usage": orjson.loads(ANSWER)["usage"]})
STREAM = (
    [_chunk({"role": "assistant", "content": ""})]
    + [_chunk({"content": " word"}) for _ in range(63)]
    + [_chunk({}, "stop"), b"data: " + USAGE + b"\n\n", b"data: [DONE]\n\n"]
)


async def _chat_request() -> object:
    return parse_request(CHAT, "chat")


async def _responses_request(protocol: ResponsesProtocol) -> object:
    inbound = await protocol.parse(RESPONSES, KEY, {})
    translated_request(inbound.chat, "responses")
    return await protocol.answer(inbound, ANSWER, "req")


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM:
        yield chunk


async def _chat_stream() -> object:
    return [chunk async for chunk in _chunks()]


async def _responses_stream(protocol: ResponsesProtocol) -> object:
    inbound = await protocol.parse(RESPONSES, KEY, {})

    async def saved(_: dict[str, Any]) -> None:
        return None

    stream = ResponsesStream(inbound.state, _chunks(), saved)
    return [chunk async for chunk in stream]


async def _measure(rounds: int, n: int) -> dict[str, float]:
    protocol = ResponsesProtocol()  # store=false: no database on this path
    cases: dict[str, interleaved.Case] = {
        "chat request+answer": _chat_request,
        "responses request+answer": lambda: _responses_request(protocol),
        "chat stream (64 chunks)": _chat_stream,
        "responses stream (64 chunks)": lambda: _responses_stream(protocol),
    }
    return await interleaved.medians(cases, rounds, n)


def main() -> None:
    medians = asyncio.run(_measure(*interleaved.arguments(__doc__ or "")))
    stream = medians["responses stream (64 chunks)"] - medians["chat stream (64 chunks)"]
    added = {
        "request+answer": medians["responses request+answer"] - medians["chat request+answer"],
        # Each event waits only for its own translation: what a stream's event (its TTFT
        # included) is delayed by. The whole stream's sum is spread over its duration.
        "stream, per event": stream / len(STREAM),
    }
    interleaved.report("Responses API translation", medians, added, TARGET_US)
    print(f"  (whole 64-chunk stream: {stream:.0f} us added, spread over the stream)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "median_us": medians,
        "added_us": added,
        "stream_total_added_us": stream,
        "target_us": TARGET_US,
    }
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
