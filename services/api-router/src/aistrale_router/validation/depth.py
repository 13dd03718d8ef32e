"""Bounded nesting: a body nested deeper than MAX_DEPTH is refused with a 400, before the
router walks it (estimates recurse) or re-encodes it (orjson refuses past 255 levels)."""

from __future__ import annotations

from typing import Any

from aistrale_common.errors import InvalidRequest

MAX_DEPTH = 64


def check_depth(raw: bytes, body: Any, limit: int = MAX_DEPTH) -> None:
    # Each level opens a bracket: a body with fewer brackets than the limit (nearly every
    # one) is not walked at all; counting bytes runs at memory speed.
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise InvalidRequest(f"The request body is nested deeper than {limit} levels.")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
