"""The usage publisher's metrics: flow counters, and the outbox backlog's size and age."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from aistrale_common.metrics import ServiceMetrics


class PublisherMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.published: Counter = metrics.counter(
            "usage_events_published_total", "Usage events confirmed by the broker", ("path",)
        )
        self.recovered: Counter = metrics.counter(
            "usage_events_recovered_total",
            "Usage events a killed process had accepted, moved from its journal to the outbox",
        )
        self.outboxed: Counter = metrics.counter(
            "usage_events_outboxed_total", "Usage events written to the durable outbox"
        )
        self.publish_failures: Counter = metrics.counter(
            "usage_publish_failures_total", "Batches the broker did not confirm in time"
        )
        self.buffered: Gauge = metrics.gauge(
            "usage_buffer_events", "Usage events in memory, waiting for the next batch"
        )
        self.backlog: Gauge = metrics.gauge(
            "usage_outbox_events", "Usage events in the durable outbox (backlog size)"
        )
        self.backlog_age: Gauge = metrics.gauge(
            "usage_outbox_oldest_age_seconds", "Age of the oldest event in the outbox"
        )
