"""`make bench` (a few seconds): what the Messages API's translation adds to a request.

The conversation of bench/responses.py asked as /v1/chat/completions (`parse_request`) and
as /v1/messages (`MessagesProtocol.parse`, `translated_request`, then upstream's
`chat.completion` turned into a Message); and the same 64-chunk chat stream relayed as is
vs translated into Anthropic's events (reported per event). The rest of the path is the
same code for both, so the difference of the medians is the translation's added latency.
Interleaved rounds, so the shared machine's load hits both alike. Target: <= 100 us at
p50. Prints a table; writes bench/results/messages.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson

from aistrale_router.gateway.request import parse_request, translated_request
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.messages.protocol import MessagesProtocol
from bench.responses import ANSWER, CHAT, STREAM, SYSTEM, TURNS

TARGET_US = 100.0
RESULTS = Path(__file__).parent / "results" / "messages.json"
MESSAGES = orjson.dumps(
    {
        "model": "m",
        "system": SYSTEM,
        "max_tokens": 256,
        "messages": [{"role": r, "content": c} for r, c in TURNS]
        + [{"role": "user", "content": "And the risks?"}],
    }
)
KEY = KeyRecord(key_id="bench", org_id="bench", status="active")
PROTOCOL = MessagesProtocol()
Case = Callable[[], Any]


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM:
        yield chunk


async def _chat_request() -> object:
    return parse_request(CHAT, "chat")


async def _messages_request() -> object:
    inbound = await PROTOCOL.parse(MESSAGES, KEY, {})
    translated_request(inbound.chat, "messages")
    return await PROTOCOL.answer(inbound, ANSWER, "req")


async def _chat_stream() -> object:
    return [chunk async for chunk in _chunks()]


async def _messages_stream() -> object:
    inbound = await PROTOCOL.parse(MESSAGES, KEY, {})
    return [chunk async for chunk in PROTOCOL.stream(inbound, _chunks(), "req")]


async def _per_call_us(case: Case, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await case()
    return (time.perf_counter() - started) / n * 1e6


async def _measure(rounds: int, n: int) -> dict[str, float]:
    cases: dict[str, Case] = {
        "chat request+answer": _chat_request,
        "messages request+answer": _messages_request,
        "chat stream (64 chunks)": _chat_stream,
        "messages stream (64 chunks)": _messages_stream,
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            samples[name].append(await _per_call_us(case, n))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    medians = asyncio.run(_measure(args.rounds, args.n))
    stream = medians["messages stream (64 chunks)"] - medians["chat stream (64 chunks)"]
    added = {
        "request+answer": medians["messages request+answer"] - medians["chat request+answer"],
        "stream, per event": stream / len(STREAM),
    }
    print(f"Messages API translation, p50 per request (target <= {TARGET_US:.0f} us added)")
    for name, us in medians.items():
        print(f"  {name:<30} {us:>9.1f} us")
    for name, us in added.items():
        verdict = "ok" if us <= TARGET_US else "OVER"
        print(f"  added, {name:<23} {us:>9.1f} us  {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {"median_us": medians, "added_us": added, "target_us": TARGET_US}
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
