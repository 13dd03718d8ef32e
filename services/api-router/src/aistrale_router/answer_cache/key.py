"""The cache key: who asked, where, and the request body in a canonical form."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

# Fields that change how an answer is delivered, not what it says.
_DELIVERY = frozenset({"stream", "stream_options"})


def answer_key(org_id: str, endpoint: str, model: str, body: dict[str, Any]) -> str:
    """sha256 of the org, the endpoint, the model and the body without its delivery fields,
    re-serialised with sorted keys (nested too): whitespace and key order do not matter,
    every other byte of the request does. The org is part of it, so one org never sees
    another's answers, even for the same prompt."""
    canonical = {k: v for k, v in body.items() if k not in _DELIVERY}
    text = orjson.dumps([org_id, endpoint, model, canonical], option=orjson.OPT_SORT_KEYS)
    return "answer:" + hashlib.sha256(text).hexdigest()
