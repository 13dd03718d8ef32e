"""The one place where a provider's failure becomes one of our errors.

Every adapter's `error(status, body, headers)` lands in `map_provider_error`, the
passthrough's (vllm, openai-compatible) included: the same upstream answer gets the same
error whichever path the deployment takes. The rules,
in order (first match wins):

    credentials rejected (401/403, Gemini API_KEY_INVALID)  -> UpstreamFailed 502
    context too long (any status, recognised by message)     -> InvalidRequest 400
    provider account out of credit (insufficient_quota)      -> UpstreamFailed 502
    overloaded (503, 529, *overloaded*)                       -> ServiceUnavailable 503
    rate limited (429, RESOURCE_EXHAUSTED)                    -> RateLimited 429 + Retry-After
    timeout (408, 504, DEADLINE_EXCEEDED)                     -> UpstreamTimeout 504
    upstream model unknown (404)                              -> UpstreamFailed 502
    other 4xx (the client's request)                          -> InvalidRequest 400
    anything else                                             -> UpstreamFailed 502
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aistrale_common.errors import (
    AistraleError,
    InvalidRequest,
    RateLimited,
    ServiceUnavailable,
    UpstreamFailed,
    UpstreamTimeout,
)
from aistrale_common.logging import get_logger

log = get_logger(__name__)

CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
INVALID_PROVIDER_CREDENTIALS = "invalid_provider_credentials"
DEFAULT_RETRY_AFTER_S = 1

# How each provider words "your prompt does not fit" (checked case-insensitively).
_CONTEXT_PATTERNS = re.compile(
    r"prompt is too long|context[_ ]length|maximum context length|context window"
    r"|input token count .* exceeds|exceeds the maximum number of tokens"
    r"|max_new_tokens` must be <=|reduce the length of the messages",
    re.IGNORECASE,
)
_OVERLOADED = re.compile(r"overloaded", re.IGNORECASE)
# A Python traceback or a source path in an upstream's message: logged, never passed on.
_INTERNALS = re.compile(r'Traceback|File "|\.py\b|site-packages|\w+(?:Error|Exception): ')
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$")


@dataclass(frozen=True, slots=True)
class ProviderFailure:
    """What the mapping needs from a failed call, whatever the provider's error shape."""

    provider: str
    status: int
    message: str
    kind: str  # the provider's error type / code / status word, lower case, may be ""
    retry_after_s: int | None
    param: str | None = None  # OpenAI-shaped bodies name the parameter at fault


def map_provider_error(
    provider: str, status: int, body: bytes, headers: Mapping[str, str]
) -> AistraleError:
    return classify(describe(provider, status, body, headers))


def describe(
    provider: str, status: int, body: bytes, headers: Mapping[str, str]
) -> ProviderFailure:
    parsed = _json(body)
    if parsed is None and body:  # an HTML page, a proxy's text: logged, never passed on
        log.info("upstream_error_not_json", body=body[:200].decode("utf-8", "replace"))
    message, kind = _message_and_kind(parsed, body)
    if _INTERNALS.search(message):
        log.info("upstream_error_internals", message=message[:500])
        message = ""
    retry = _retry_after(headers, parsed)
    return ProviderFailure(provider, status, message, kind.lower(), retry, _param(parsed))


def classify(f: ProviderFailure) -> AistraleError:
    if _credentials_rejected(f):
        # The provider's own message can echo part of the key: never pass it on.
        return UpstreamFailed(
            f"The {f.provider} API rejected the provider credentials configured for this "
            f"deployment (HTTP {f.status}). Check the organization's {f.provider} credential "
            "or the platform key named by api_key_env.",
            code=INVALID_PROVIDER_CREDENTIALS,
        )
    if _CONTEXT_PATTERNS.search(f.message) or f.kind == CONTEXT_LENGTH_EXCEEDED:
        return InvalidRequest(_say(f), param="messages", code=CONTEXT_LENGTH_EXCEEDED)
    if f.kind == "insufficient_quota":
        return UpstreamFailed(_say(f, "provider account quota exhausted"), code="upstream_quota")
    if f.status in (503, 529) or _OVERLOADED.search(f.kind) or _OVERLOADED.search(f.message):
        return ServiceUnavailable(_say(f, "overloaded"), headers=_retry_headers(f))
    if f.status == 429 or f.kind == "resource_exhausted":
        return RateLimited(_say(f, "rate limited"), headers=_retry_headers(f))
    if f.status in (408, 504) or f.kind == "deadline_exceeded":
        return UpstreamTimeout(_say(f, "timed out"))
    return _by_status(f)


def _by_status(f: ProviderFailure) -> AistraleError:
    if f.status == 404:
        return UpstreamFailed(_say(f, "upstream model or route not found"))
    if 400 <= f.status < 500:
        return InvalidRequest(_say(f), param=f.param)
    return UpstreamFailed(_say(f, "upstream error"))


def _credentials_rejected(f: ProviderFailure) -> bool:
    if f.status in (401, 403):
        return True
    gemini_bad_key = f.kind == "api_key_invalid" or "api key not valid" in f.message.lower()
    return gemini_bad_key or f.kind in ("authentication_error", "permission_error")


def _say(f: ProviderFailure, fallback: str = "request rejected") -> str:
    detail = f.message or fallback
    return f"{f.provider} (HTTP {f.status}): {detail}"


def _retry_headers(f: ProviderFailure) -> dict[str, str]:
    seconds = f.retry_after_s if f.retry_after_s is not None else DEFAULT_RETRY_AFTER_S
    return {"Retry-After": str(max(seconds, 1))}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _message_and_kind(parsed: Any, body: bytes) -> tuple[str, str]:
    """Anthropic, OpenAI/Groq/HF, Gemini (google.rpc.Status) and TGI error shapes. Any
    other body (an HTML page, a proxy's text) is not passed on: the fallback phrase is."""
    if not isinstance(parsed, dict):
        return "", ""
    error = parsed.get("error")
    if isinstance(error, str):  # TGI / HF inference: {"error": "...", "error_type": "..."}
        return error, str(parsed.get("error_type") or "")
    if not isinstance(error, dict):
        return str(parsed.get("message") or ""), str(parsed.get("type") or "")
    message = str(error.get("message") or "")
    # Most specific first: Gemini's detail reason, Gemini's status word, OpenAI's code,
    # then the error type (Anthropic's only field). Gemini's numeric `code` is skipped.
    for kind in (_gemini_reason(error), error.get("status"), error.get("code"), error.get("type")):
        if isinstance(kind, str) and kind:
            return message, kind
    return message, ""


def _param(parsed: Any) -> str | None:
    error = parsed.get("error") if isinstance(parsed, dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    return param if isinstance(param, str) and param else None


def _gemini_reason(error: Mapping[str, Any]) -> str:
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    return ""


def _retry_after(headers: Mapping[str, str], parsed: Any) -> int | None:
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lower:
        return _ceil_seconds(_float(lower["retry-after-ms"]), 1000)
    if "retry-after" in lower:
        return _ceil_seconds(_float(lower["retry-after"]), 1)
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        if name in lower:  # OpenAI / Groq: "1s", "6m0s", "12ms"
            return _duration(lower[name])
    return _gemini_retry_delay(parsed)


def _gemini_retry_delay(parsed: Any) -> int | None:
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and "retryDelay" in detail:
            return _duration(str(detail["retryDelay"]))
    return None


def _duration(text: str) -> int | None:
    text = text.strip()
    if text.endswith("ms"):
        return _ceil_seconds(_float(text[:-2]), 1000)
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return math.ceil(hours * 3600 + minutes * 60 + seconds)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ceil_seconds(value: float | None, per_second: int) -> int | None:
    return None if value is None else math.ceil(value / per_second)
