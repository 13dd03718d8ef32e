"""The request log's opaque cursor: the (time, request id, event id) of the last row a page
returned; the next page starts strictly after it in the log's order (newest first)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import NamedTuple

import orjson

from aistrale_common.errors import InvalidRequest


class Position(NamedTuple):
    occurred_at: datetime
    request_id: str
    event_id: str


def encode(position: Position) -> str:
    raw = orjson.dumps([position.occurred_at.isoformat(), position.request_id, position.event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, request_id, event_id = orjson.loads(raw)
        position = Position(datetime.fromisoformat(moment), request_id, event_id)
    except (ValueError, TypeError):
        raise _bad() from None
    if not all(isinstance(p, str) and "\x00" not in p for p in position[1:]):
        raise _bad()
    return position


def _bad() -> InvalidRequest:
    return InvalidRequest("cursor is not one this API returned", param="cursor")
