"""What the router changes in an OpenAI-format upstream's whole answer: the requested
catalog name echoed instead of upstream's model name, and special tokens out of a local
llama.cpp model's text."""

from __future__ import annotations

import orjson

from aistrale_router.text.special_tokens import clean_answer

LLAMA_CPP = "llama.cpp"


def echo_answer(body: bytes, requested: str, engine: str | None) -> bytes:
    """The upstream body, re-encoded only when its model name differs from the requested
    catalog name or a llama.cpp answer holds special tokens. Upstream may name its model
    otherwise than the catalog's deployment does (llama.cpp answers with the file name),
    so the name in the body decides; the byte search spares the parse in the common case
    of compact JSON that already carries the name."""
    rename = b'"model":' + orjson.dumps(requested) not in body
    clean = engine == LLAMA_CPP
    if not (rename or clean):
        return body
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(answer, dict):
        return body
    changed = False
    if rename and answer.get("model", requested) != requested:
        answer["model"] = requested
        changed = True
    if clean and clean_answer(answer):
        changed = True
    return orjson.dumps(answer) if changed else body
