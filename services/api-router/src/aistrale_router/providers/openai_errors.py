"""The one place an OpenAI-format upstream's failure becomes one of our errors."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from aistrale_common.errors import (
    AistraleError,
    InvalidRequest,
    RateLimited,
    UpstreamFailed,
)
from aistrale_common.logging import get_logger

log = get_logger(__name__)


def upstream_error(status: int, body: bytes, headers: Mapping[str, str]) -> AistraleError:
    message, param = _message(body)
    if status in (400, 413, 422):
        # The client's request was wrong (context too long, bad tool schema...): say so.
        return InvalidRequest(message or "Upstream rejected the request.", param=param)
    if status == 429:
        retry = headers.get("retry-after")
        return RateLimited(
            "The model is overloaded; retry shortly.",
            code="upstream_rate_limited",
            headers={"retry-after": retry} if retry else {},
        )
    return UpstreamFailed(f"Upstream answered {status}: {message or 'no details'}"[:500])


def _message(body: bytes) -> tuple[str | None, str | None]:
    """The message of an OpenAI-shaped error. A body that is not JSON (an HTML error page,
    a proxy's text, a traceback) is not passed on to the client: it is logged."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        if body:
            log.info("upstream_error_not_json", body=body[:200].decode("utf-8", "replace"))
        return None, None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        message, param = error.get("message"), error.get("param")
        return (str(message) if message else None), (str(param) if param else None)
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"], None  # vLLM's older error shape
    return None, None
