"""The few AMQP 0-9-1 frames a publisher sends and reads."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = b"\xce"
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
# (class, method) ids
START, START_OK, TUNE, TUNE_OK = (10, 10), (10, 11), (10, 30), (10, 31)
OPEN, OPEN_OK, CLOSE, CLOSE_OK = (10, 40), (10, 41), (10, 50), (10, 51)
BLOCKED, UNBLOCKED = (10, 60), (10, 61)
CHANNEL_OPEN, CHANNEL_OPEN_OK, CHANNEL_CLOSE, CHANNEL_CLOSE_OK = (
    (20, 10),
    (20, 11),
    (20, 40),
    (20, 41),
)
CONFIRM_SELECT, CONFIRM_SELECT_OK = (85, 10), (85, 11)
BASIC_PUBLISH, BASIC_ACK, BASIC_NACK, BASIC_RETURN = (60, 40), (60, 80), (60, 120), (60, 50)
BASIC_CLASS = 60
# basic properties flags
FLAG_CONTENT_TYPE, FLAG_HEADERS, FLAG_DELIVERY_MODE, FLAG_MESSAGE_ID = (
    1 << 15,
    1 << 13,
    1 << 12,
    1 << 7,
)


def shortstr(text: str) -> bytes:
    data = text.encode()
    if len(data) > 255:
        raise ValueError("AMQP short string longer than 255 bytes")
    return bytes((len(data),)) + data


def longstr(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def table(values: Mapping[str, Any]) -> bytes:
    body = b"".join(shortstr(key) + _field(value) for key, value in values.items())
    return longstr(body)


def _field(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"t" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"l" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"d" + struct.pack(">d", value)
    if isinstance(value, str):
        return b"S" + longstr(value.encode())
    if isinstance(value, bytes):
        return b"x" + longstr(value)
    if value is None:
        return b"V"
    if isinstance(value, Mapping):
        return b"F" + table(value)
    raise TypeError(f"AMQP header value of type {type(value).__name__} is not supported")


def frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END


def method(channel: int, ids: tuple[int, int], arguments: bytes = b"") -> bytes:
    return frame(FRAME_METHOD, channel, struct.pack(">HH", *ids) + arguments)


def publish_frames(
    channel: int,
    frame_max: int,
    exchange: bytes,
    routing_key: str,
    body: bytes,
    properties: bytes,
) -> bytes:
    """basic.publish + content header + body frames (split to fit frame_max)."""
    # reserved short, exchange, routing key, mandatory/immediate off
    publish = method(
        channel, BASIC_PUBLISH, b"\x00\x00" + exchange + shortstr(routing_key) + b"\x00"
    )
    header = frame(
        FRAME_HEADER, channel, struct.pack(">HHQ", BASIC_CLASS, 0, len(body)) + properties
    )
    room = frame_max - 8
    bodies = [frame(FRAME_BODY, channel, body[i : i + room]) for i in range(0, len(body), room)]
    return publish + header + b"".join(bodies)


def properties(message_id: str | None, headers: Mapping[str, Any]) -> bytes:
    """content-type JSON, persistent, message id and headers when given (in flag order)."""
    flags = FLAG_CONTENT_TYPE | FLAG_DELIVERY_MODE
    parts = [shortstr("application/json")]
    if headers:
        flags |= FLAG_HEADERS
        parts.append(table(headers))
    parts.append(b"\x02")  # delivery mode 2: persistent
    if message_id is not None:
        flags |= FLAG_MESSAGE_ID
        parts.append(shortstr(message_id))
    return struct.pack(">H", flags) + b"".join(parts)


def read_shortstr(data: bytes, pos: int) -> tuple[str, int]:
    size = data[pos]
    return data[pos + 1 : pos + 1 + size].decode(errors="replace"), pos + 1 + size
