"""List prices per million tokens in integer micro-USD, found by provider and model name.
The money itself is computed in one place: `usage.pricing.cost_micro_usd`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aistrale_router.providers.price_list import PRICES, ModelPrice
from aistrale_router.usage.pricing import PriceLike

__all__ = ["PRICES", "ModelPrice", "PriceLike", "lookup", "resolve_price"]

_SNAPSHOT = re.compile(
    r"[-@](\d{4}-?\d{2}-?\d{2}|\d{3,4}|latest|preview(-\d{2}-\d{4})?|v\d+(:\d+)?)"
)


def resolve_price(
    provider: str, upstream_model: str, override: PriceLike | None = None
) -> PriceLike | None:
    """The catalog's pricing for the model wins; otherwise our list price, if we have one."""
    if override is not None:
        return override
    return lookup(provider, upstream_model)


def lookup(
    provider: str, model: str, table: Mapping[str, Mapping[str, ModelPrice]] | None = None
) -> ModelPrice | None:
    """Exact name, else a listed name followed by a snapshot suffix only
    (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`, `gemini-2.5-flash-preview-09-2025`).
    A bare prefix is not enough: `claude-opus-4-5` must not get `claude-opus-4`'s price."""
    models = (table or PRICES).get(provider, {})
    if model in models:
        return models[model]
    for name, price in models.items():
        if model.startswith(name) and _SNAPSHOT.fullmatch(model[len(name) :]):
            return price
    return None
