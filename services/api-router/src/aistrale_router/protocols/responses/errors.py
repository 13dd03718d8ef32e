"""Errors on /v1/responses have OpenAI's shape, as on every OpenAI endpoint."""

from __future__ import annotations

import orjson

from aistrale_common.errors import AistraleError


def error_body(error: AistraleError) -> bytes:
    return orjson.dumps(error.body())
