"""The deployments of a model a key may use: the model's pool rules applied to the key's
tags and its org's (docs/router.md "Routing rules").

A pre-filter: the picker orders what this leaves, whatever its strategy.

- A key with any tag of some rules uses only the deployments in those rules' pools.
- A key matching no rule uses the deployments outside every `exclusive` rule's pool.
- A model without rules: every deployment, as before (and no work).
"""

from __future__ import annotations

from aistrale_router.catalog.schema import Deployment, ModelEntry


def eligible(model: ModelEntry, tags: frozenset[str]) -> list[Deployment]:
    if not model.rules:
        return model.deployments
    pools = {r.pool for r in model.rules if not tags.isdisjoint(r.tags)}
    if pools:
        return [d for d in model.deployments if d.pool in pools]
    reserved = {r.pool for r in model.rules if r.exclusive}
    return [d for d in model.deployments if d.pool is None or d.pool not in reserved]
