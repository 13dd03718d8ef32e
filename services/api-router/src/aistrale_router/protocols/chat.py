"""Reading the gateway's chat answers and streams, for a protocol that translates them: the
relay's SSE bytes as parsed events, and the fields of an upstream answer taken leniently (a
server's odd answer is translated as far as it goes, never turned into a 500 once metered)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from aistrale_router.streaming.sse import SseEvent, SseParser

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One event of the chat stream: a chunk, the end (`[DONE]`) or the relay's error."""

    chunk: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    done: bool = False


async def chat_chunks(chunks: AsyncIterator[bytes]) -> AsyncIterator[ChatChunk]:
    """The gateway's chat SSE stream as parsed events. The relay yields whole events, ends
    with `[DONE]` or an error event and `[DONE]`; a stream that just stops is reported as
    an error too, so no protocol ever ends silently."""
    parser = SseParser()
    async for raw in chunks:
        for event in parser.feed(raw):
            parsed = _parsed(event)
            if parsed is not None:
                yield parsed
                if parsed.done or parsed.error is not None:
                    return
    yield ChatChunk(error={"message": "The stream ended early.", "type": "server_error"})


def _parsed(event: SseEvent) -> ChatChunk | None:
    if event.data == DONE:
        return ChatChunk(done=True)
    try:
        data = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        return ChatChunk(error=error)
    return ChatChunk(chunk=data)


def first_choice(chat: dict[str, Any]) -> dict[str, Any]:
    choices = chat.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}


def tokens(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) else 0


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""
