"""How long a request may wait in the queue and where it stands (docs/router.md "Queueing").

The key's own setting (or its org's, resolved by user-org's key lookup) comes first: it is
the most specific; then the model's `queue_wait_s` (models.yaml); then the router's
AISTRALE_QUEUE_WAIT_S. Priority is the key's (or org's), 0 when neither sets one.
"""

from __future__ import annotations

from dataclasses import dataclass

from aistrale_router.catalog.schema import ModelEntry
from aistrale_router.keys.record import KeyRecord

DEFAULT_PRIORITY = 0


@dataclass(frozen=True, slots=True)
class QueuePlace:
    wait_s: float
    priority: int


def queue_place(key: KeyRecord, model: ModelEntry, router_wait_s: float) -> QueuePlace:
    if key.queue_wait_s is not None:
        wait_s = key.queue_wait_s
    elif model.queue_wait_s is not None:
        wait_s = model.queue_wait_s
    else:
        wait_s = router_wait_s
    priority = key.queue_priority if key.queue_priority is not None else DEFAULT_PRIORITY
    return QueuePlace(wait_s, priority)
