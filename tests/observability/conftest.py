"""One `make up` topology for the observability tests (it is the slow part): the three
services as processes on Postgres, Redis and RabbitMQ (tests/soak/platform.py), exporting
traces to an OTLP receiver, scraped every second by a real Prometheus, after a few rounds of
real traffic (traffic.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.otlp_receiver import OtlpReceiver
from tests.soak.platform import Platform, Timers, platform
from tests.soak.tenants import Admin

from .prometheus import Prometheus, prometheus
from .traffic import Seen, Tenants, one_round, provision

ROUNDS = 6
FAST = {
    "AISTRALE_HEALTH_PROBE_INTERVAL_S": "1",
    "AISTRALE_VLLM_LOAD_INTERVAL_S": "1",
    "OTEL_BSP_SCHEDULE_DELAY": "200",  # the SDK's batch span processor: export within 0.2 s
}


@dataclass
class Live:
    platform: Platform
    prometheus: Prometheus
    traces: OtlpReceiver
    admin: Admin
    tenants: Tenants
    seen: Seen


@pytest.fixture(scope="package")
def live(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("observability")
    traces = OtlpReceiver().start()
    env = {**FAST, "AISTRALE_OTLP_ENDPOINT": traces.url}
    try:
        with platform(infra, workdir / "platform", Timers(), env) as running:
            targets = {name: service.port for name, service in running.services.items()}
            (workdir / "prom").mkdir()
            with prometheus(workdir / "prom", targets) as prom:
                admin = Admin(running.userorg.url, running.admin_email, running.admin_password)
                try:
                    tenants = provision(admin, running.run)
                    _wait_for_first_scrapes(prom, len(targets))
                    seen = _traffic(running, admin, tenants)
                    _wait_for_scrapes(prom)
                    yield Live(running, prom, traces, admin, tenants, seen)
                finally:
                    admin.close()
    finally:
        traces.stop()


def _traffic(running: Platform, admin: Admin, tenants: Tenants) -> Seen:
    seen = Seen()
    for _ in range(ROUNDS):
        one_round(running, admin, tenants, seen)
        time.sleep(0.5)  # spread over several scrapes
    return seen


def _wait_for_first_scrapes(prom: Prometheus, targets: int, timeout_s: float = 30.0) -> None:
    """Every target scraped once before the traffic starts: a rate needs the counters to
    rise between two scrapes, and on a quiet machine the whole traffic fitted before
    Prometheus's first scrape (every rate 0, every ratio and quantile NaN)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if prom.values("count(up == 1)") == [float(targets)]:
            time.sleep(1.1)  # one more scrape: the series exist before they rise
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus never scraped every target: {prom.unhealthy_targets()}")


def _wait_for_scrapes(prom: Prometheus, timeout_s: float = 30.0) -> None:
    """Until the last requests are scraped, and the rules evaluated after that: the
    analytics ingest (usage events through RabbitMQ) and the rate-limit rejection are the
    last to show."""
    wanted = [
        'sum(aistrale_api_router_requests_total{status="429"})',
        "sum(aistrale_analytics_events_ingested_total) > 0",
        "aistrale:api_router_errors:ratio_rate5m",
        "aistrale:analytics_query_seconds:p95_5m",
    ]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(prom.values(q) for q in wanted):
            time.sleep(2.5)  # two more scrapes and rule evaluations
            return
        time.sleep(0.5)
    missing = [q for q in wanted if not prom.values(q)]
    raise AssertionError(f"Prometheus did not see the traffic: {missing}")
