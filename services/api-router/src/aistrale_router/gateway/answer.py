"""What the router changes in an OpenAI-format upstream's whole answer, and says about
the catalog: the requested catalog name echoed instead of upstream's model name, special
tokens out of a local llama.cpp model's text, the model names a 404 offers."""

from __future__ import annotations

from collections.abc import Collection

import orjson

from aistrale_router.catalog.schema import Catalog, Deployment, ModelEntry
from aistrale_router.gateway.request import ClientRequest
from aistrale_router.text.special_tokens import clean_answer

LISTED_MODELS = 20  # a 404 names at most this many models
MIN_FIT_TOKENS = 16  # below this, the context cap is not applied (upstream says what is wrong)


def fit_context(granted: int | None, request: ClientRequest, model: ModelEntry) -> int | None:
    """The max_tokens sent when the client set none: the model's maximum output, within
    the catalog's `context_window` once the prompt (its upper bound) is in, since vLLM
    refuses a request whose prompt plus max_tokens exceeds the context."""
    window = model.context_window
    if granted is None or request.max_tokens is not None or window is None:
        return granted
    room = window - request.prompt_estimate
    return min(granted, room) if room >= MIN_FIT_TOKENS else granted


def echo_answer(body: bytes, requested: str, deployment: Deployment) -> bytes:
    """The upstream body, re-encoded only when its model name differs from the requested
    catalog name or a llama.cpp answer holds special tokens. Upstream may name its model
    otherwise than the catalog's deployment does (llama.cpp answers with the file name),
    so the name in the body decides; the byte search spares the parse in the common case
    of compact JSON that already carries the name."""
    rename = b'"model":' + orjson.dumps(requested) not in body
    clean = deployment.engine == "llama.cpp"
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


def available_models(catalog: Catalog, allowed: Collection[str] | None) -> str:
    names = [m.name for m in catalog.models if allowed is None or m.name in allowed]
    if not names:
        return "No model is available to this API key."
    shown = ", ".join(f"`{n}`" for n in names[:LISTED_MODELS])
    hidden = len(names) - LISTED_MODELS
    more = f" and {hidden} more (GET /v1/models)" if hidden > 0 else ""
    return f"Available models: {shown}{more}."
