"""structlog configured once per process: JSON lines, context variables, no raw keys."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

from aistrale_common.sentry import to_sentry

_REDACT = ("authorization", "api_key", "password", "key", "token", "secret")
# The request being served, set once per request by the observability middleware: one
# ContextVar costs a fraction of structlog's bound_contextvars (a dict of vars and tokens).
REQUEST_ID: ContextVar[str | None] = ContextVar("aistrale_request_id", default=None)


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Belt and braces: a raw credential must never reach a log line.
    for name in list(event):
        if name.lower() in _REDACT and isinstance(event[name], str):
            event[name] = "[redacted]"
    return event


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            to_sentry,  # a no-op unless AISTRALE_SENTRY_DSN is set (sentry.py)
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
