"""Every dashboard panel and alert rule that reads our metrics, evaluated by a real
Prometheus that scraped the `make up` topology (three processes on Postgres, Redis and
RabbitMQ) while real traffic ran: each query parses and returns data, and the error-rate
panels say 0 (not "no data") when nothing failed (docs/observability.md)."""

from __future__ import annotations

from .conftest import ROUNDS, Live
from .prometheus import Prometheus, Query, dashboard_queries, finite, rule_queries, variable_queries

LATENCY_ALERTS = {
    "AistraleLatencySLOBreach",
    "AistraleInferenceTtfbSLO",
    "AistraleManagementApiLatencySLO",
    "AistraleAnalyticsQueryLatencySLO",
}


def test_the_traffic_ran(live: Live) -> None:
    seen = live.seen
    for outcome in ("200", "200 stream", "401", "404", "429 insufficient_quota"):
        assert seen.statuses[outcome] == ROUNDS, seen.statuses
    # RPM 2 in fixed minute windows: the rounds may span two of them.
    limited, admitted = seen.statuses["429 rate_limit_exceeded"], seen.statuses["200 limited"]
    assert limited + admitted == ROUNDS and limited >= ROUNDS - 4, seen.statuses


def test_every_target_is_up(live: Live) -> None:
    prom = live.prometheus
    up = {s["metric"]["job"]: s["value"][1] for s in prom.query("up")}
    assert up == {"api-router": "1", "user-org": "1", "analytics": "1"}


def test_every_dashboard_query_returns_data(live: Live) -> None:
    prom = live.prometheus
    queries = dashboard_queries()
    assert len(queries) >= 30  # the scan found the dashboards
    _assert_each_returns_data(prom, queries)


def test_the_error_rate_panels_say_zero(live: Live) -> None:
    prom = live.prometheus
    ratios = [q for q in dashboard_queries() if q.error_ratio]
    assert {q.source.split(":")[0] for q in ratios} >= {
        "system-health.json",
        "model-performance.json",
    }
    for query in ratios:
        values = finite(prom.values(query.expr))
        assert values and set(values) == {0.0}, (query.source, values)


def test_every_variable_has_values(live: Live) -> None:
    prom = live.prometheus
    variables = variable_queries()
    assert variables
    empty = [v for v in variables if not prom.label_values(v[2], v[1])]
    assert empty == []


def test_every_rule_evaluates_and_returns_data(
    live: Live,
) -> None:
    prom = live.prometheus
    unhealthy = {r["name"]: r.get("lastError") for r in prom.rules() if r["health"] != "ok"}
    assert unhealthy == {}
    queries = rule_queries()
    assert len(queries) >= 20
    _assert_each_returns_data(prom, queries)


def test_nothing_fires_on_healthy_traffic(live: Live) -> None:
    """No error-rate, dependency, target or pipeline alert, not even pending. The budget
    alert may be (an org is out of budget on purpose), and so may the latency ones: their
    thresholds are production's, and this machine is shared."""
    prom = live.prometheus
    alerts = {s["metric"]["alertname"] for s in prom.query("ALERTS")}
    assert alerts <= {"AistraleBudgetExhaustion", *LATENCY_ALERTS}, alerts


def test_budget_rejections_are_counted_per_org(live: Live) -> None:
    prom, seen = live.prometheus, live.seen
    rejected = prom.values("sum(aistrale_api_router_budget_rejections_total)")
    assert rejected == [float(seen.statuses["429 insufficient_quota"])]
    tokens = prom.values('sum(aistrale_api_router_tokens_total{model="soak-chat"})')
    assert tokens and tokens[0] > 0


def _assert_each_returns_data(prom: Prometheus, queries: list[Query]) -> None:
    """Each query evaluates and returns data; an error ratio returns 0 (nothing failed)."""
    failed = {}
    for query in queries:
        try:
            values = finite(prom.values(query.expr))
        except ValueError as exc:
            failed[query.source] = f"does not evaluate: {exc}"
            continue
        if not values:
            failed[query.source] = f"no data: {query.expr}"
        elif query.error_ratio and values != [0.0] * len(values):
            failed[query.source] = f"error ratio {values} with no failures"
    assert failed == {}, "\n".join(f"{source}: {why}" for source, why in failed.items())
