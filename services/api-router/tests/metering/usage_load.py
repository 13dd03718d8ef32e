"""A router-like process for fault tests: submits numbered usage events through the real
publisher and outbox, and shuts down gracefully on SIGTERM.

    python usage_load.py AMQP_URL EXCHANGE QUEUE_PREFIX OUTBOX_URL RUN ORG COUNT RATE_PER_S

COUNT=0 only replays the outbox and exits once it is empty. On exit it prints
`SUBMITTED <n>`: events 0..n-1 of the run were handed to the sink.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

from aistrale_common.db import Database
from aistrale_common.events import RabbitEventBus
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.logging import configure_logging
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.metering import PublisherConfig, build_usage_sink
from aistrale_router.metering.outbox import UsageOutbox
from aistrale_router.migrate import migrate_async
from aistrale_router.settings import Settings
from aistrale_testkit.analytics.factories import numbered_event

CONFIG = PublisherConfig(
    publish_timeout_s=1.0, replay_interval_s=0.1, shutdown_publish_timeout_s=0.5
)
TICK_S = 0.02


async def main(
    amqp_url: str,
    exchange: str,
    queue_prefix: str,
    outbox_url: str,
    run: str,
    org: str,
    count: int,
    rate: int,
) -> None:
    configure_logging("INFO", json=False)  # to stderr: stdout carries READY/SUBMITTED
    settings = Settings(
        database_url=outbox_url,
        amqp_url=amqp_url,
        usage_exchange=exchange,
        queue_prefix=queue_prefix,
    )
    await migrate_async(settings)
    db = Database(outbox_url)
    bus = await RabbitEventBus.connect(amqp_url)
    sink = build_usage_sink(settings, bus, db, ServiceMetrics("api-router"), CONFIG)
    await sink.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", flush=True)
    submitted = await _submit(sink.submit, run, org, count, rate, stop)
    if count == 0:
        await _wait_outbox_empty(UsageOutbox(db), stop)
    else:
        await stop.wait()
    await sink.stop()
    print(f"SUBMITTED {submitted}", flush=True)
    await asyncio.wait_for(bus.close(), 5)
    await db.close()


async def _submit(
    submit: Callable[[UsageEventV1], None],
    run: str,
    org: str,
    count: int,
    rate: int,
    stop: asyncio.Event,
) -> int:
    per_tick = max(1, int(rate * TICK_S))
    index = 0
    while index < count and not stop.is_set():
        for _ in range(min(per_tick, count - index)):
            submit(numbered_event(run, index, org))
            index += 1
        await asyncio.sleep(TICK_S)
    return index


async def _wait_outbox_empty(outbox: UsageOutbox, stop: asyncio.Event) -> None:
    while not stop.is_set() and (await outbox.stats()).events > 0:
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    amqp, exchange, prefix, url, run, org, count, rate = sys.argv[1:9]
    asyncio.run(main(amqp, exchange, prefix, url, run, org, int(count), int(rate)))
