"""The Messages protocol's translations of chat answers and streams, checked against the
anthropic SDK's own types (`model_validate`, which the SDK itself skips). The streams are
fed the bytes the chat relay yields, its error event on a cut included
(streaming/relay.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_common.errors import (
    AistraleError,
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServiceUnavailable,
    UpstreamFailed,
)
from aistrale_router.protocols.base import Inbound
from aistrale_router.protocols.messages.protocol import MessagesProtocol, translated
from aistrale_router.streaming.relay import DONE_EVENT, error_event
from aistrale_router.streaming.sse import SseParser

HELLO = [{"role": "user", "content": "Hi"}]
USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
EVENTS: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
PROTOCOL = MessagesProtocol()


def chat(content: str | None, finish: str, calls: list[Any] | None = None, **choice: Any) -> Any:
    message = {"role": "assistant", "content": content, "tool_calls": calls or []}
    choices = [{"index": 0, "message": message, "finish_reason": finish, **choice}]
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": choices, "usage": USAGE}


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
    body["choices"][0]["finish_reason"] = finish  # type: ignore[index]
    return b"data: " + orjson.dumps(body) + b"\n\n"


USAGE_CHUNK = b"data: " + orjson.dumps({"choices": [], "usage": USAGE}) + b"\n\n"
TEXT_STREAM = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}, "stop"),
    USAGE_CHUNK,
    DONE_EVENT,
]
TOOL_STREAM = [
    chunk({"content": "Let me see."}),
    chunk(
        {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "tool_calls"),
    USAGE_CHUNK,
    DONE_EVENT,
]
CUT_STREAM = [chunk({"content": "Hel"}), error_event(UpstreamFailed("broke off")) + DONE_EVENT]


def request(**fields: Any) -> Inbound:
    return translated({"model": "m", "max_tokens": 5, "messages": HELLO, **fields}, counting=False)


async def feed(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def events(translated: AsyncIterator[bytes]) -> list[tuple[str | None, dict[str, Any]]]:
    parser, out = SseParser(), []
    async for raw in translated:
        out += [(e.event, orjson.loads(e.data)) for e in parser.feed(raw)]
    return out


@pytest.mark.parametrize(
    ("finish", "extra", "stops", "reason", "sequence"),
    [
        ("stop", {}, [], "end_turn", None),
        ("length", {}, [], "max_tokens", None),
        ("stop", {"stop_reason": "END"}, ["END"], "stop_sequence", "END"),
        ("tool_calls", {}, [], "tool_use", None),
    ],
)
async def test_messages_answer_and_stop_reasons(
    finish: str, extra: dict[str, Any], stops: list[str], reason: str, sequence: str | None
) -> None:
    inbound = request(stop_sequences=stops)
    calls = [CALL] if finish == "tool_calls" else None
    body = orjson.dumps(chat("Hi", finish, calls, **extra))
    message = Message.model_validate_json(await PROTOCOL.answer(inbound, body, "req"))
    assert (message.stop_reason, message.stop_sequence) == (reason, sequence)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)
    assert message.model == "m"
    if calls:
        assert message.content[-1].type == "tool_use" and message.content[-1].input == {"a": 1}


def test_the_chat_body_carries_the_protocols_max_tokens_and_system() -> None:
    """Admission reserves the chat body's max_tokens (protocols/base.py)."""
    inbound = request(system="Be brief.", stop_sequences=["END"], stream=True)
    assert inbound.chat["max_tokens"] == 5 and inbound.chat["stop"] == ["END"]
    assert inbound.chat["messages"][0] == {"role": "system", "content": "Be brief."}
    assert inbound.chat["stream"] is True
    with pytest.raises(InvalidRequest, match="max_tokens"):
        translated({"model": "m", "messages": HELLO}, counting=False)
    counted = translated({"model": "m", "messages": HELLO}, counting=True)
    assert counted.chat["messages"] == HELLO


async def test_messages_stream_with_a_tool_call_validates_event_by_event() -> None:
    got = await events(aiter(PROTOCOL.stream(request(), feed(TOOL_STREAM), "req")))
    for name, data in got:
        assert EVENTS.validate_python(data).type == name
    starts = [d["content_block"]["type"] for n, d in got if n == "content_block_start"]
    assert starts == ["text", "tool_use"]
    json = "".join(
        d["delta"]["partial_json"]
        for n, d in got
        if d.get("delta", {}).get("type") == "input_json_delta"
    )
    assert orjson.loads(json) == {"a": 1}
    closing = got[-2][1]
    assert closing["delta"]["stop_reason"] == "tool_use" and closing["usage"]["output_tokens"] == 3


async def test_text_stream_events_validate() -> None:
    got = await events(aiter(PROTOCOL.stream(request(), feed(TEXT_STREAM), "req")))
    for name, data in got:
        assert EVENTS.validate_python(data).type == name
    assert [n for n, _ in got][-2:] == ["message_delta", "message_stop"]


@pytest.mark.parametrize("cut", [CUT_STREAM, CUT_STREAM[:1]], ids=["error-event", "just-stops"])
async def test_a_cut_messages_stream_ends_with_an_error_event(cut: list[bytes]) -> None:
    got = await events(aiter(PROTOCOL.stream(request(), feed(cut), "req")))
    name, data = got[-1]
    assert name == "error" and data["type"] == "error" and data["error"]["type"] == "api_error"
    assert "message_stop" not in [n for n, _ in got]


async def test_a_stream_cut_at_shutdown_ends_in_anthropics_shape() -> None:
    """What RelayResponse sends last when the shutdown cutoff cancels a stream mid-way
    (gateway/api.py): the protocol's error, continuing the stream it cuts."""
    translated_stream = PROTOCOL.stream(request(), feed(TEXT_STREAM), "req")
    stream = aiter(translated_stream)
    await anext(stream)  # the opening events are out; then the relay is cancelled
    await stream.aclose()  # type: ignore[attr-defined]
    cut = ServiceUnavailable("The router is shutting down.")
    tail = [(e.event, orjson.loads(e.data)) for e in SseParser().feed(translated_stream.cut(cut))]
    assert tail == [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": cut.message}})
    ]


async def test_a_stream_cut_before_it_began_still_opens_the_message() -> None:
    translated_stream = PROTOCOL.stream(request(), feed(TEXT_STREAM), "req")
    got = [
        (e.event, orjson.loads(e.data))
        for e in SseParser().feed(
            translated_stream.cut(ServiceUnavailable("The router is shutting down."))
        )
    ]
    assert [n for n, _ in got] == ["message_start", "error"]
    assert EVENTS.validate_python(got[0][1]).type == "message_start"
    assert got[1][1]["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequest("bad"), "invalid_request_error"),
        (AuthenticationFailed("who"), "authentication_error"),
        (PermissionDenied("no"), "permission_error"),
        (NotFound("none"), "not_found_error"),
        (RateLimited("slow down"), "rate_limit_error"),
        (QuotaExceeded("broke"), "rate_limit_error"),
        (ServiceUnavailable("busy"), "overloaded_error"),
        (UpstreamFailed("broke"), "api_error"),
    ],
)
def test_errors_are_in_anthropics_shape(error: AistraleError, kind: str) -> None:
    body = orjson.loads(PROTOCOL.error(error))
    assert body == {"type": "error", "error": {"type": kind, "message": error.message}}
