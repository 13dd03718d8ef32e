"""Fault tests of the whole usage pipeline on real RabbitMQ and Postgres.

- A router-like process publishes under load while the broker is cut and restored, then
  gets SIGTERM while the broker is cut again: exactly N rows and exact rollups afterwards.
- The consumer process is SIGKILLed mid-batch: no loss, no double count.
(A malformed message going to the dead-letter queue is in test_consumer.py.)
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aistrale_analytics.app import consumer_config
from aistrale_analytics.ingest.consumer import UsageConsumer
from aistrale_analytics.ingest.rollup import BUCKETS
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.migrate import migrate_async
from aistrale_analytics.settings import Settings
from aistrale_common.db import Database
from aistrale_common.events import OutgoingMessage, RabbitEventBus
from aistrale_common.metrics import ServiceMetrics
from aistrale_testkit.analytics.factories import numbered_event
from aistrale_testkit.analytics.sums import expected_totals, rollup_totals, stored_ids
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process, stop_process
from aistrale_testkit.tcp_proxy import free_port, tcp_proxy

ROOT = Path(__file__).resolve().parents[3]
LOAD_SCRIPT = ROOT / "services/api-router/tests/metering/usage_load.py"


def proxied_amqp(infra: Infra, port: int) -> str:
    host_part = infra.amqp_url.split("@", 1)[1].split("/", 1)[0]
    return infra.amqp_url.replace(host_part, f"127.0.0.1:{port}") + "?reconnect_interval=0.2"


def start_load(
    amqp: str, settings: Settings, outbox: str, run: str, count: int
) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        str(LOAD_SCRIPT),
        amqp,
        settings.usage_exchange,
        settings.queue_prefix,
        outbox,
        run,
        "org-load",
        str(count),
        "2500",
    ]
    # Its logs go to a file: a full stdout pipe would block the process mid-test.
    with (settings.data_dir / f"load-{count}.log").open("ab") as err:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)


async def read_line(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        if not line:
            raise AssertionError(f"load process exited ({proc.poll()}) before {prefix!r}")
        if line.startswith(prefix):
            return line.strip()


async def wait_rows(db: Database, org: str, count: int, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while len(await stored_ids(db, org)) < count:
            await asyncio.sleep(0.1)


async def assert_exact(db: Database, run: str, org: str, count: int) -> None:
    events = [numbered_event(run, i, org) for i in range(count)]
    await wait_rows(db, org, count, timeout_s=60)
    await asyncio.sleep(0.5)  # a late duplicate would show up now; it must add nothing
    assert sorted(await stored_ids(db, org)) == sorted(str(e.event_id) for e in events)
    for bucket in BUCKETS:
        assert await rollup_totals(db, org, bucket) == expected_totals(events)


async def test_outage_and_sigterm_under_load_lose_and_double_nothing(
    infra: Infra, pg_db: Database, analytics_settings: Settings, tmp_path: Path
) -> None:
    config = consumer_config(analytics_settings)
    bus = await RabbitEventBus.connect(infra.amqp_url)
    consumer = UsageConsumer(bus, UsageStore(pg_db), ServiceMetrics("analytics"), config)
    await consumer.start()
    outbox = f"sqlite+aiosqlite:///{tmp_path / 'api-router.db'}"
    run = infra.run_id + "-outage"
    started: list[subprocess.Popen[str]] = []
    try:
        with tcp_proxy("127.0.0.1", 5672) as proxy:
            amqp = proxied_amqp(infra, proxy.port)
            load = start_load(amqp, analytics_settings, outbox, run, 100_000)
            started.append(load)
            await read_line(load, "READY")
            await asyncio.sleep(1.0)
            proxy.cut()  # the broker goes away under load...
            await asyncio.sleep(1.5)
            proxy.restore()  # ...comes back...
            await asyncio.sleep(1.0)
            proxy.cut()  # ...and goes away again just before the SIGTERM
            await asyncio.sleep(0.3)
            load.send_signal(signal.SIGTERM)  # in flight and buffered: all to the outbox
            submitted = int((await read_line(load, "SUBMITTED")).split()[1])
            assert await asyncio.to_thread(load.wait, 30) == 0
            proxy.restore()
            replay = start_load(amqp, analytics_settings, outbox, run, 0)
            started.append(replay)
            await read_line(replay, "SUBMITTED")
            assert await asyncio.to_thread(replay.wait, 30) == 0
        await assert_exact(pg_db, run, "org-load", submitted)
        print(f"\nN={submitted} events through two outages and a SIGTERM")
    finally:
        for process in started:  # a failed assertion must not leave a publisher running
            process.kill()
            process.wait()
        await consumer.stop()
        await bus.close()


@pytest.fixture
def analytics_env(
    infra: Infra,
    create_pg_database: Callable[[str], str],
    analytics_settings: Settings,
    tmp_path: Path,
) -> dict[str, str]:
    return {
        "AISTRALE_ANALYTICS_DATABASE_URL": create_pg_database("analytics_kill"),
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_USAGE_EXCHANGE": analytics_settings.usage_exchange,
        "AISTRALE_QUEUE_PREFIX": analytics_settings.queue_prefix,
        "AISTRALE_DATA_DIR": str(tmp_path),
        "AISTRALE_RECONCILE_ENABLED": "false",
        "AISTRALE_LOG_LEVEL": "WARNING",
    }


async def test_consumer_killed_mid_batch_loses_and_doubles_nothing(
    infra: Infra, analytics_env: dict[str, str], analytics_settings: Settings, tmp_path: Path
) -> None:
    config = consumer_config(analytics_settings)
    run, org, count = infra.run_id + "-kill", "org-kill", 5000
    events = [numbered_event(run, i, org) for i in range(count)]
    messages = [
        OutgoingMessage(e.routing_key(), e.model_dump_json().encode(), str(e.event_id))
        for e in events
    ]
    bus = await RabbitEventBus.connect(infra.amqp_url)
    await bus.declare(config.subscription())
    await bus.publish_batch(config.exchange, messages)
    await bus.publish_batch(config.exchange, messages[:500])  # replayed duplicates
    db_url = analytics_env["AISTRALE_ANALYTICS_DATABASE_URL"]
    await migrate_async(Settings(database_url=db_url))
    db = Database(db_url)
    first: subprocess.Popen[bytes] | None = None
    argv = python_module_argv("aistrale-analytics", "serve", "--port", str(free_port()))
    log = tmp_path / "analytics.log"
    try:
        with log.open("ab") as out:
            first = subprocess.Popen(
                argv, env={**_environ(), **analytics_env}, stdout=out, stderr=subprocess.STDOUT
            )
        async with asyncio.timeout(60):
            while len(await stored_ids(db, org)) < 1000:
                await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # mid-stream: batches in flight, unacked
        stop_process(first)
        killed_at = len(await stored_ids(db, org))
        assert killed_at < count, "the consumer finished before it could be killed"
        port = free_port()
        started = time.perf_counter()
        argv = python_module_argv("aistrale-analytics", "serve", "--port", str(port))
        with service_process(argv, port, analytics_env, log_path=log):
            ready = time.perf_counter()
            await wait_rows(db, org, count, timeout_s=60)
            rate = (count - killed_at) / (time.perf_counter() - ready)
            await assert_exact(db, run, org, count)
        print(
            f"\nkilled at {killed_at}/{count} rows; restarted in {ready - started:.1f}s, "
            f"then drained {rate:.0f} events/s"
        )
    finally:
        if first is not None:
            stop_process(first)
        await db.close()
        await bus.close()


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)
