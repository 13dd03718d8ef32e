"""The one place an OpenAI-format upstream's failure becomes one of our errors."""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from aistrale_common.errors import (
    AistraleError,
    InvalidRequest,
    RateLimited,
    ServiceUnavailable,
    UpstreamFailed,
)
from aistrale_common.logging import get_logger

log = get_logger(__name__)
DEFAULT_RETRY_AFTER_S = 1
# A Python traceback or a source path in an upstream's message: logged, never passed on.
_INTERNALS = re.compile(r'Traceback|File "|\.py\b|site-packages|\w+(?:Error|Exception): ')
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


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
    if status == 503:
        # Loading its model, or overloaded: the client may come back, when upstream says.
        retry = headers.get("retry-after") or str(DEFAULT_RETRY_AFTER_S)
        # Its own words when it gave them in JSON (the local model's installer says what it
        # is doing and points to /ready), else a fixed phrase.
        return ServiceUnavailable(
            message or "The model is not ready (loading or overloaded); retry shortly.",
            headers={"retry-after": retry},
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
        return _safe(message), (str(param) if param else None)
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return _safe(parsed["message"]), None  # vLLM's older error shape
    return None, None


def _safe(message: object) -> str | None:
    if not message:
        return None
    text = str(message)
    if _INTERNALS.search(text):
        log.info("upstream_error_internals", message=text[:500])
        return None
    return text
