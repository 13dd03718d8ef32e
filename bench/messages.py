"""`make bench` (a few seconds): what the Messages API's translation adds to a request.

The conversation of bench/responses.py asked as /v1/chat/completions (`parse_request`) and
as /v1/messages (`MessagesProtocol.parse`, `translated_request`, then upstream's
`chat.completion` turned into a Message); and the same 64-chunk chat stream relayed as is
vs translated into Anthropic's events (reported per event). The rest of the path is the
same code for both, so the difference of the medians is the translation's added latency.
Also the native pass-through (an Anthropic deployment): Anthropic's own events relayed by
`NativeMessagesRelay` (usage and budget counted, model name set) vs the same bytes as is.
Interleaved rounds, so the shared machine's load hits both alike. Target: <= 100 us at
p50. Prints a table; writes bench/results/messages.json.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from aistrale_router.gateway.request import parse_request, translated_request
from aistrale_router.keys.record import KeyRecord
from aistrale_router.protocols.messages.protocol import MessagesProtocol
from aistrale_router.providers.anthropic import AnthropicAdapter
from aistrale_router.providers.anthropic_native import NativeMessagesRelay
from aistrale_router.providers.base import ProviderTarget
from aistrale_router.streaming.adapted import AdaptedRelay
from aistrale_router.upstream.port import UpstreamResponse
from bench import interleaved
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
TARGET = ProviderTarget("http://anthropic", "claude-up", None)


def _anthropic_event(kind: str, **fields: Any) -> bytes:
    return (
        b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"
    )


_USAGE = {"input_tokens": 40, "output_tokens": 1, "cache_read_input_tokens": 0}
_START: dict[str, Any] = {
    **{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up"},
    **{"content": [], "stop_reason": None, "stop_sequence": None, "usage": _USAGE},
}
NATIVE_STREAM = [
    _anthropic_event("message_start", message=_START),
    _anthropic_event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    *[
        _anthropic_event(
            "content_block_delta", index=0, delta={"type": "text_delta", "text": " word"}
        )
        for _ in range(60)
    ],
    _anthropic_event("content_block_stop", index=0),
    _anthropic_event(
        "message_delta",
        delta={"stop_reason": "end_turn", "stop_sequence": None},
        usage={"output_tokens": 60},
    ),
    _anthropic_event("message_stop"),
]


class _Upstream:
    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in NATIVE_STREAM:
            yield chunk


async def _anthropic_as_is() -> object:
    return [chunk async for chunk in _Upstream().chunks()]


async def _anthropic_translated_twice() -> object:
    """What the native relay replaces: Anthropic -> chat chunks (the anthropic adapter's
    translator) -> Anthropic's events again (the Messages protocol)."""
    upstream: Any = _Upstream()
    translator = AnthropicAdapter().stream_translator(TARGET, "req", "claude")
    relay = AdaptedRelay(upstream, translator, hide_usage=False, prompt_estimate=40, model="c")
    inbound = await PROTOCOL.parse(MESSAGES, KEY, {})
    return [chunk async for chunk in PROTOCOL.stream(inbound, aiter(relay), "req")]


async def _anthropic_native() -> object:
    upstream: Any = _Upstream()
    response: UpstreamResponse = upstream
    relay = NativeMessagesRelay(response, budget=None, prompt_estimate=40, model="claude")
    return [chunk async for chunk in relay]


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


async def _measure(rounds: int, n: int) -> dict[str, float]:
    cases: dict[str, interleaved.Case] = {
        "chat request+answer": _chat_request,
        "messages request+answer": _messages_request,
        "chat stream (64 chunks)": _chat_stream,
        "messages stream (64 chunks)": _messages_stream,
        "anthropic events as is (64)": _anthropic_as_is,
        "anthropic events native (64)": _anthropic_native,
        "anthropic events translated twice (64)": _anthropic_translated_twice,
    }
    return await interleaved.medians(cases, rounds, n)


def main() -> None:
    medians = asyncio.run(_measure(*interleaved.arguments(__doc__ or "")))
    stream = medians["messages stream (64 chunks)"] - medians["chat stream (64 chunks)"]
    added = {
        "request+answer": medians["messages request+answer"] - medians["chat request+answer"],
        "stream, per event": stream / len(STREAM),
        "native, per event": (
            medians["anthropic events native (64)"] - medians["anthropic events as is (64)"]
        )
        / len(NATIVE_STREAM),
        "native vs translated twice, per event": (
            medians["anthropic events native (64)"]
            - medians["anthropic events translated twice (64)"]
        )
        / len(NATIVE_STREAM),
    }
    interleaved.report("Messages API translation", medians, added, TARGET_US)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {"median_us": medians, "added_us": added, "target_us": TARGET_US}
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
