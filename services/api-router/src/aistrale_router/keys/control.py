"""Control events from user-org act on cached keys, and drop cached org provider credentials,
at once (every replica has its own queue). A revoked key is refused from then on; a changed
key, org or budget is asked for again before its next use, and its last answer is kept as
the fallback while user-org does not answer (keys/cache.py)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from aistrale_common.events import Consumer, EventBus, Message, Subscription
from aistrale_common.events.schemas import ControlEvent
from aistrale_common.logging import get_logger
from aistrale_router.keys.cache import KeyCache

log = get_logger(__name__)
BINDINGS = ("key.*", "org.*", "budget.*", "credential.*", "prompt.*", "guardrails.*")
# HttpOrgCredentials.invalidate: drops an org's cached provider keys (all orgs for None).
InvalidateCredentials = Callable[[str | None], None]
# governance/control.py: prompt.updated and guardrails.updated drop cached templates/settings.
OnGovernance = Callable[[ControlEvent], None]
GOVERNANCE_EVENTS = ("prompt.updated", "guardrails.updated")


async def listen_for_control_events(
    bus: EventBus,
    exchange: str,
    cache: KeyCache,
    credentials: InvalidateCredentials | None = None,
    governance: OnGovernance | None = None,
) -> Consumer:
    async def on_event(message: Message) -> None:
        try:
            event = ControlEvent.model_validate_json(message.body)
        except ValidationError:
            # Unknown event types are not ours to act on; a future user-org may add some.
            log.info("control_event_ignored", routing_key=message.routing_key)
            return
        if event.type in GOVERNANCE_EVENTS:
            if governance is not None:
                governance(event)
            return  # no API key changed
        apply_control_event(cache, event, credentials)

    # queue=None: an exclusive queue per replica, so every replica sees every event.
    subscription = Subscription(exchange, BINDINGS, queue=None, prefetch=256)
    return await bus.subscribe(subscription, on_event)


def apply_control_event(
    cache: KeyCache, event: ControlEvent, credentials: InvalidateCredentials | None = None
) -> int:
    """Returns how many cached keys it concerned."""
    if event.type == "credential.updated":
        hits = 0  # the org's API keys did not change, only what it pays upstream with
    elif event.type == "key.revoked":
        hits = cache.revoke(key_hash=event.key_hash, key_id=event.key_id)
    elif event.type == "key.updated":
        hits = cache.invalidate(key_hash=event.key_hash, key_id=event.key_id)
    else:  # org.updated, budget.updated: every key of the org may have changed
        hits = cache.invalidate(org_id=event.org_id)
    if credentials is not None and event.type in ("credential.updated", "org.updated"):
        credentials(event.org_id)  # org.updated: a deleted org's credentials went with it
    log.info("control_event", type=event.type, keys=hits)
    return hits
