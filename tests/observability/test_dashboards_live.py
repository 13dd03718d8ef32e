"""Every dashboard panel and alert rule that reads our metrics, evaluated by a real
Prometheus that scraped the `make up` topology (three processes on Postgres, Redis and
RabbitMQ) while real traffic ran: each query parses and returns data, and the error-rate
panels say 0 (not "no data") when nothing failed (docs/observability.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aistrale_common.testing.fixtures import Infra
from tests.soak.platform import Platform, Timers, platform
from tests.soak.tenants import Admin

from .prometheus import (
    Prometheus,
    dashboard_queries,
    finite,
    prometheus,
    rule_queries,
    variable_queries,
)
from .traffic import Seen, Tenants, one_round, provision

ROUNDS = 6
FAST = {"AISTRALE_HEALTH_PROBE_INTERVAL_S": "1", "AISTRALE_VLLM_LOAD_INTERVAL_S": "1"}


@pytest.fixture(scope="module")
def scraped(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Prometheus, Platform, Seen]]:
    workdir = tmp_path_factory.mktemp("dashboards")
    started = time.monotonic()
    with platform(infra, workdir / "platform", Timers(), FAST) as running:
        targets = {name: service.port for name, service in running.services.items()}
        (workdir / "prom").mkdir()
        print(f"platform up after {time.monotonic() - started:.1f}s")
        with prometheus(workdir / "prom", targets) as prom:
            admin = Admin(running.userorg.url, running.admin_email, running.admin_password)
            try:
                tenants = provision(admin, running.run)
                print(f"provisioned after {time.monotonic() - started:.1f}s")
                seen = _traffic(running, admin, tenants)
                print(f"traffic done after {time.monotonic() - started:.1f}s")
                _wait_for_scrapes(prom, tenants)
                print(f"scraped after {time.monotonic() - started:.1f}s")
                yield prom, running, seen
            finally:
                admin.close()


def _traffic(running: Platform, admin: Admin, tenants: Tenants) -> Seen:
    seen = Seen()
    for _ in range(ROUNDS):
        one_round(running, admin, tenants, seen)
        time.sleep(0.5)  # spread over several scrapes
    return seen


def _wait_for_scrapes(prom: Prometheus, tenants: Tenants, timeout_s: float = 20.0) -> None:
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


def test_the_traffic_ran(scraped: tuple[Prometheus, Platform, Seen]) -> None:
    _, _, seen = scraped
    for outcome in ("200", "200 stream", "401", "404", "429 insufficient_quota"):
        assert seen.statuses[outcome] == ROUNDS, seen.statuses
    assert seen.statuses["429 rate_limit_exceeded"] >= ROUNDS - 2, seen.statuses


def test_every_target_is_up(scraped: tuple[Prometheus, Platform, Seen]) -> None:
    prom, _, _ = scraped
    up = {s["metric"]["job"]: s["value"][1] for s in prom.query("up")}
    assert up == {"api-router": "1", "user-org": "1", "analytics": "1"}


def test_every_dashboard_query_returns_data(scraped: tuple[Prometheus, Platform, Seen]) -> None:
    prom, _, _ = scraped
    queries = dashboard_queries()
    assert len(queries) >= 30  # the scan found the dashboards
    failed = {}
    for query in queries:
        try:
            values = prom.values(query.expr)
        except ValueError as exc:
            failed[query.source] = f"does not evaluate: {exc}"
            continue
        if not finite(values):
            failed[query.source] = f"no data: {query.expr}"
        elif query.error_ratio and finite(values) != [0.0] * len(finite(values)):
            failed[query.source] = f"error ratio {values} with no failures"
    assert failed == {}


def test_the_error_rate_panels_say_zero(scraped: tuple[Prometheus, Platform, Seen]) -> None:
    prom, _, _ = scraped
    ratios = [q for q in dashboard_queries() if q.error_ratio]
    assert {q.source.split(":")[0] for q in ratios} >= {
        "system-health.json",
        "model-performance.json",
    }
    for query in ratios:
        values = finite(prom.values(query.expr))
        assert values and set(values) == {0.0}, (query.source, values)


def test_every_variable_has_values(scraped: tuple[Prometheus, Platform, Seen]) -> None:
    prom, _, _ = scraped
    variables = variable_queries()
    assert variables
    empty = [v for v in variables if not prom.label_values(v[2], v[1])]
    assert empty == []


def test_every_rule_evaluates_and_returns_data(
    scraped: tuple[Prometheus, Platform, Seen],
) -> None:
    prom, _, _ = scraped
    unhealthy = {r["name"]: r.get("lastError") for r in prom.rules() if r["health"] != "ok"}
    assert unhealthy == {}
    queries = rule_queries()
    assert len(queries) >= 20
    failed = {}
    for query in queries:
        try:
            values = prom.values(query.expr)
        except ValueError as exc:
            failed[query.source] = f"does not evaluate: {exc}"
            continue
        if not finite(values):
            failed[query.source] = f"no data: {query.expr}"
    assert failed == {}


def test_nothing_fires_on_healthy_traffic(scraped: tuple[Prometheus, Platform, Seen]) -> None:
    """Only the budget alert may be pending (an org is out of budget, on purpose)."""
    prom, _, _ = scraped
    alerts = {s["metric"]["alertname"] for s in prom.query("ALERTS")}
    assert alerts <= {"AistraleBudgetExhaustion"}, alerts


def test_budget_rejections_are_counted_per_org(
    scraped: tuple[Prometheus, Platform, Seen], tmp_path: Path
) -> None:
    prom, _, seen = scraped
    rejected = prom.values("sum(aistrale_api_router_budget_rejections_total)")
    assert rejected == [float(seen.statuses["429 insufficient_quota"])]
    tokens = prom.values('sum(aistrale_api_router_tokens_total{model="soak-chat"})')
    assert tokens and tokens[0] > 0
