"""Optional Sentry error reporting: on only when `AISTRALE_SENTRY_DSN` is set.

What goes to Sentry is what the services log at error level or above, exceptions included
(unhandled errors are logged once by the error handlers and the router's front door), with
the request id as a tag, and stack traces without local variables (they hold headers and
keys). Performance tracing stays with OpenTelemetry (`traces_sample_rate` 0) and Sentry
patches no framework (`auto_enabling_integrations` off): the hot path is the same with it
on. Log fields go through the same redaction as the logs; no request data is sent.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

ERROR_LEVELS = frozenset({"error", "critical", "exception", "fatal"})
_enabled = False


def init_sentry(service: str, dsn: str | None, environment: str) -> bool:
    """Once per process; later calls (the other services of `make run`) change nothing."""
    global _enabled
    if not dsn or _enabled:
        return _enabled
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=0.0,
        send_default_pii=False,
        # Frame locals hold ASGI scopes, headers and bodies: API keys, JWTs. Never sent.
        include_local_variables=False,
        max_request_body_size="never",
        auto_enabling_integrations=False,
    )
    sentry_sdk.set_tag("service", service)
    _enabled = True
    return True


def to_sentry(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor (after redaction, before the exception is formatted)."""
    if not _enabled or method not in ERROR_LEVELS:
        return event
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        if request_id := event.get("request_id"):
            scope.set_tag("request_id", str(request_id))
        extras = {k: v for k, v in event.items() if k not in ("event", "exc_info", "timestamp")}
        scope.set_context("log", {k: repr(v)[:500] for k, v in extras.items()})
        error = _exception(event.get("exc_info"))
        if error is not None:
            sentry_sdk.capture_exception(error)
        else:
            sentry_sdk.capture_message(str(event.get("event", "")), level="error")
    return event


def _exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    if exc_info:
        return sys.exc_info()[1]
    return None
