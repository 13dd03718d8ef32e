"""GET /v1/models and GET /v1/models/{id}: OpenAI's Model objects for what a key may use.

A model is shown to a key that may use it (its allow-list names the model or one of its
aliases) and that its org's residency lets it be served; aliases are listed beside their
model, marked `alias_of`, for clients that check a name against the list before using it.
"""

from __future__ import annotations

from typing import Any

from aistrale_common.errors import NotFound
from aistrale_router.catalog.schema import Catalog, Experiment, ModelEntry
from aistrale_router.keys.record import KeyRecord
from aistrale_router.routing import residency
from aistrale_router.routing.experiments import arm_models
from aistrale_router.routing.state import DeploymentStates

Card = dict[str, Any]


def listed(catalog: Catalog, states: DeploymentStates, key: KeyRecord) -> dict[str, Any]:
    data = [
        _card(name, model, states)
        for model in catalog.models
        if _visible(catalog, key, model)
        for name in (model.name, *model.aliases)
    ]
    data.extend(
        _experiment_card(catalog, e, states)
        for e in catalog.experiments
        if _experiment_visible(catalog, key, e)
    )
    return {"object": "list", "data": data}


def retrieved(catalog: Catalog, states: DeploymentStates, key: KeyRecord, name: str) -> Card:
    model = catalog.get(name)
    experiment = catalog.experiment(name) if model is None else None
    if experiment is not None and _experiment_visible(catalog, key, experiment):
        return _experiment_card(catalog, experiment, states)
    if model is None or not _visible(catalog, key, model):
        raise NotFound(
            f"The model `{name}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    return _card(name, model, states)


def allows(key: KeyRecord, model: ModelEntry, asked: str, *, experiment: bool = False) -> bool:
    """The key's allow-list names the catalog model or the name the client asked for; for
    an experiment, its name only (docs/decisions/router-experiments.md: being allowed an
    arm's model does not make a key part of the experiment)."""
    allowed = key.allowed_models
    if allowed is None or asked in allowed:
        return True
    return not experiment and model.name in allowed


def _visible(catalog: Catalog, key: KeyRecord, model: ModelEntry) -> bool:
    allowed = key.allowed_models is None or any(
        name in key.allowed_models for name in (model.name, *model.aliases)
    )
    return allowed and residency.servable(catalog, model, key.allowed_regions)


def _experiment_visible(catalog: Catalog, key: KeyRecord, experiment: Experiment) -> bool:
    """Allowed by its name, and some arm can serve the org in its regions."""
    allowed = key.allowed_models is None or experiment.name in key.allowed_models
    regions = key.allowed_regions
    return allowed and any(
        residency.servable(catalog, m, regions) for m in arm_models(catalog, experiment)
    )


def _experiment_card(catalog: Catalog, experiment: Experiment, states: DeploymentStates) -> Card:
    models = arm_models(catalog, experiment)
    ready = any(states.ready(d.id) for m in models for d in m.deployments)
    return {
        "id": experiment.name,
        "object": "model",
        "created": 0,
        "owned_by": "aistrale",
        "ready": ready,
    }


def _card(name: str, model: ModelEntry, states: DeploymentStates) -> Card:
    card: Card = {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "aistrale",
        "ready": any(states.ready(d.id) for d in model.deployments),
    }
    if name != model.name:
        card["alias_of"] = model.name
    return card
