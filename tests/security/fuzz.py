"""The fuzzing pass's one rule, for every answer: never a 5xx, and every error answer has
a body in OpenAI's error shape (a client must always learn what was wrong)."""

from __future__ import annotations

import json

import httpx

ERROR_FIELDS = {"message", "type", "param", "code"}


def verdict(status: int, body: bytes, what: str) -> str | None:
    """None when the answer keeps the rule; else what was wrong with it."""
    if status >= 500:
        return f"{what}: {status} {body[:300]!r}"
    if status < 400:
        return None
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"{what}: {status} without an error body: {body[:300]!r}"
    if not isinstance(error, dict) or not error.keys() >= ERROR_FIELDS:
        return f"{what}: {status} error body not in OpenAI's shape: {body[:300]!r}"
    return None


def check_response(response: httpx.Response, what: str) -> str | None:
    return verdict(response.status_code, response.content, what)
