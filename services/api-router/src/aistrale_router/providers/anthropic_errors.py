"""Our errors in Anthropic's shape, for clients of /v1/messages (so its SDK raises its own
exception classes: `{"type": "error", "error": {"type": "authentication_error", ...}}`) and
for a stream a native Anthropic deployment serves; the status code is the error's own,
which is already Anthropic's for every 4xx."""

from __future__ import annotations

from typing import Any

import orjson

from aistrale_common.errors import AistraleError

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error_object(error: AistraleError) -> dict[str, Any]:
    kind = _TYPES.get(error.status, "invalid_request_error" if error.status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def error_body(error: AistraleError) -> bytes:
    return orjson.dumps(error_object(error))


def error_event(error: AistraleError) -> bytes:
    """The error as Anthropic's SSE `error` event (its SDK raises it mid-stream)."""
    return b"event: error\ndata: " + error_body(error) + b"\n\n"
