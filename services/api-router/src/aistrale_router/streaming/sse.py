"""Incremental Server-Sent Events parsing (WHATWG rules), for bytes arriving in any split."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseEvent:
    data: str
    event: str | None = None
    id: str | None = None


class SseParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += chunk
        events: list[SseEvent] = []
        while True:
            line, sep, rest = _split_line(self._buffer)
            if not sep:
                return events
            self._buffer = rest
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)

    def _line(self, line: str) -> SseEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._data and self._event is None:
            return None
        event = SseEvent("\n".join(self._data), self._event, self._id)
        self._data, self._event = [], None
        return event


def _split_line(buffer: bytes) -> tuple[bytes, bytes, bytes]:
    found = [i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i != -1]
    if not found:
        return buffer, b"", b""
    index = min(found)
    width = 1
    if buffer[index : index + 1] == b"\r":
        if index == len(buffer) - 1:
            return buffer, b"", b""  # may be the first half of a CRLF: wait for more
        width = 2 if buffer[index + 1 : index + 2] == b"\n" else 1
    return buffer[:index], buffer[index : index + width], buffer[index + width :]


def encode_event(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n").encode()
