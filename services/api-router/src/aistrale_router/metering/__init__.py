"""Usage metering: the `UsageSink` the hot path submits to, and its factory."""

from __future__ import annotations

from aistrale_common.db import Database
from aistrale_common.events import EventBus, Subscription
from aistrale_common.events.request_body import BODY_BINDING
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.metering.journal import Journal
from aistrale_router.metering.metrics import PublisherMetrics
from aistrale_router.metering.outbox import UsageOutbox
from aistrale_router.metering.publisher import PublisherConfig, UsagePublisher
from aistrale_router.metering.sink import UsageSink
from aistrale_router.settings import Settings

__all__ = ["PublisherConfig", "UsagePublisher", "UsageSink", "build_usage_sink"]

# The analytics consumer's durable queue (docs/usage-pipeline.md): a contract, like the
# exchange and routing keys. Declared with the same arguments analytics uses.
ANALYTICS_QUEUE = "analytics.usage"
USAGE_BINDING = "usage.v1.#"
BODIES_QUEUE = "analytics.bodies"  # request bodies of orgs that opted in (metering/bodies.py)


def build_usage_sink(
    settings: Settings,
    bus: EventBus,
    db: Database,
    metrics: ServiceMetrics,
    config: PublisherConfig | None = None,
) -> UsagePublisher:
    """The production sink. `db` is the router's database (migrated: it holds the
    `usage_outbox` table); call `await sink.start()` in the lifespan and
    `await sink.stop()` on shutdown, before the bus and database close."""
    outbox = UsageOutbox(db, lease_s=settings.usage_outbox_lease_s)
    # Only with a broker: an in-process queue nobody consumes would grow without bound, and
    # in one process analytics subscribes before the router serves its first request.
    consumer_queue = (
        Subscription(
            settings.usage_exchange, (USAGE_BINDING,), f"{settings.queue_prefix}{ANALYTICS_QUEUE}"
        )
        if settings.amqp_url
        else None
    )
    bodies_queue = Subscription(
        settings.usage_exchange, (BODY_BINDING,), f"{settings.queue_prefix}{BODIES_QUEUE}"
    )
    journal = Journal(settings.data_dir / "usage-journal") if settings.usage_journal else None
    return UsagePublisher(
        bus,
        settings.usage_exchange,
        outbox,
        PublisherMetrics(metrics),
        config,
        consumer_queue,
        journal,
        also_declare=(bodies_queue,),
    )
