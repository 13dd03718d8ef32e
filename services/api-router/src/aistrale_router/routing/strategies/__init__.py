"""How a model's deployments are ordered, one module per `routing.strategy`.

A strategy orders a pool the picker has already narrowed (weight > 0, and whatever
eligibility filter a caller applies first); health and affinity are the picker's. Every
strategy starts from `weighted`'s order (weighted random, power of two choices, saturated
last) and, where it has a reason to, sorts it stably by its own key: ties keep the weighted
order, so equal deployments still share the work.
"""

from __future__ import annotations

from typing import Protocol

from aistrale_router.catalog.schema import Deployment, ModelEntry


class Strategy(Protocol):
    name: str

    def order(self, pool: list[Deployment], model: ModelEntry) -> list[Deployment]:
        """The pool (consumed) in the order to try it."""
        ...
