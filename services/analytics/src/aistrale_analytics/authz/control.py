"""Control events drop cached decisions: every analytics replica has its own queue, so a
removed member or changed role is asked about again within a second on all of them."""

from __future__ import annotations

from pydantic import ValidationError

from aistrale_analytics.authz.decisions import DecisionCache
from aistrale_common.events import Consumer, EventBus, Message, Subscription
from aistrale_common.events.schemas import ControlEvent
from aistrale_common.logging import get_logger

log = get_logger(__name__)
BINDINGS = ("user.*", "org.*")


def apply(cache: DecisionCache, event: ControlEvent) -> None:
    if event.type == "user.updated" and event.user_id is not None:
        cache.drop_user(event.user_id)
    else:  # org.updated (an org deleted or changed): few enough to drop everything
        cache.drop_all()


async def listen(bus: EventBus, exchange: str, cache: DecisionCache) -> Consumer:
    async def on_event(message: Message) -> None:
        try:
            event = ControlEvent.model_validate_json(message.body)
        except ValidationError:
            log.info("control_event_ignored", routing_key=message.routing_key)
            return
        apply(cache, event)

    # queue=None: an exclusive queue per replica, so every replica sees every event.
    return await bus.subscribe(Subscription(exchange, BINDINGS, queue=None), on_event)
