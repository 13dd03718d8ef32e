"""What the gateway decides about a request's answer from the catalog: the max_tokens
that fits the context window, the model names a 404 offers. (What an upstream's answer
itself becomes is its adapter's business: providers/echo.py for OpenAI-format servers.)"""

from __future__ import annotations

from collections.abc import Collection

from aistrale_router.catalog.schema import Catalog, ModelEntry
from aistrale_router.gateway.request import ClientRequest

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


def available_models(catalog: Catalog, allowed: Collection[str] | None) -> str:
    every = [m.name for m in catalog.models] + [e.name for e in catalog.experiments]
    names = [n for n in every if allowed is None or n in allowed]
    if not names:
        return "No model is available to this API key."
    shown = ", ".join(f"`{n}`" for n in names[:LISTED_MODELS])
    hidden = len(names) - LISTED_MODELS
    more = f" and {hidden} more (GET /v1/models)" if hidden > 0 else ""
    return f"Available models: {shown}{more}."
