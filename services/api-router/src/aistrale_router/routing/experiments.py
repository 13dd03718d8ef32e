"""Which arm of an experiment serves a request (docs/router.md "Experiments").

An arm is drawn by weight from a point in [0, total weight): with `sticky: key` the point
is a hash of the experiment's name and the key id, with `sticky: user` of the request's
`user` field (the key id when the request has none), with `sticky: none` a random number.
The same key or user therefore lands on the same arm for as long as the arms and their
weights stay as they are; changing a weight moves only the subjects whose point crosses a
boundary. The experiment's name is in the hash so that two experiments split the same
users independently.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from aistrale_router.catalog.schema import Arm, Catalog, Experiment, ModelEntry


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment: str
    arm: str
    model: str  # the catalog model that serves it


def assign(
    experiment: Experiment, key_id: str, user: object, rng: random.Random | None = None
) -> Assignment:
    arm = _arm(experiment, _point(experiment, key_id, user, rng))
    return Assignment(experiment.name, arm.name, arm.model)


def arm_models(catalog: Catalog, experiment: Experiment) -> list[ModelEntry]:
    """The models of the arms that can be drawn (weight above 0)."""
    models = (catalog.get(a.model) for a in experiment.arms if a.weight)
    return [m for m in models if m is not None]


def _point(experiment: Experiment, key_id: str, user: object, rng: random.Random | None) -> float:
    """In [0, 1)."""
    if experiment.sticky == "none":
        return (rng or random).random()
    subject = user if experiment.sticky == "user" and isinstance(user, str) and user else key_id
    digest = hashlib.blake2b(f"{experiment.name}\0{subject}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _arm(experiment: Experiment, point: float) -> Arm:
    total = sum(a.weight for a in experiment.arms)
    left = point * total
    for arm in experiment.arms:
        if arm.weight and left < arm.weight:
            return arm
        left -= arm.weight
    return next(a for a in reversed(experiment.arms) if a.weight)  # rounding at the top
