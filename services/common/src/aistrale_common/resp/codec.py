"""RESP2: encoding commands, decoding replies incrementally."""

from __future__ import annotations

from typing import Any

from redis.exceptions import NoScriptError, ResponseError

INCOMPLETE = object()


def encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def decode(buf: bytearray | bytes, pos: int) -> tuple[Any, int]:
    """One reply starting at `pos`: (value, next position), or (INCOMPLETE, pos).

    An error reply decodes to a ResponseError instance (not raised): it answers one call.
    """
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return INCOMPLETE, pos
    kind, line = buf[pos], bytes(buf[pos + 1 : end])
    after = end + 2
    if kind == 0x2B:  # +
        return line.decode(), after
    if kind == 0x3A:  # :
        return int(line), after
    if kind == 0x2D:  # -
        message = line.decode(errors="replace")
        error = NoScriptError if message.startswith("NOSCRIPT") else ResponseError
        return error(message), after
    if kind == 0x24:  # $
        size = int(line)
        if size < 0:
            return None, after
        if len(buf) < after + size + 2:
            return INCOMPLETE, pos
        return bytes(buf[after : after + size]), after + size + 2
    if kind == 0x2A:  # *
        count = int(line)
        if count < 0:
            return None, after
        items: list[Any] = []
        for _ in range(count):
            item, after = decode(buf, after)
            if item is INCOMPLETE:
                return INCOMPLETE, pos
            items.append(item)
        return items, after
    raise ResponseError(f"unexpected RESP type byte {kind!r}")
