"""Prometheus rules (promtool check and unit tests) and Grafana dashboards (every PromQL query
parsed, every metric from the documented contract, every SQL query on analytics' table)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

Doc = dict[str, Any]
DASHBOARDS = ("system-health", "org-usage", "model-performance", "infrastructure")
# Metrics the dashboards and rules may use: the services' (aistrale_*), vLLM's (vllm:*), the
# recording rules' (aistrale:*) and the cluster exporters' of kube-prometheus-stack.
METRIC_SOURCES = re.compile(
    r"^(aistrale_(api_router|user_org|analytics)_[a-z0-9_]+|aistrale:[a-z0-9_:]+|vllm:[a-z0-9_]+"
    r"|up|node_\w+|container_\w+|kube_\w+|kubelet_volume_stats_\w+|cnpg_\w+|rabbitmq_\w+)$"
)
USAGE_COLUMNS = {
    "event_id",
    "occurred_at",
    "org_id",
    "key_id",
    "model",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "cost_micro_usd",
    "latency_ms",
    "payload",
}


@pytest.fixture(scope="module")
def rules_dir(deploy_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PrometheusRule's spec as a plain rules file, beside copies of the unit tests."""
    out = tmp_path_factory.mktemp("rules")
    rule = yaml.safe_load((deploy_root / "infra/prometheus/aistrale-rules.yaml").read_text())
    (out / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    for test in (deploy_root / "infra/prometheus/tests").glob("*.test.yaml"):
        shutil.copy(test, out / test.name)
    return out


@pytest.fixture(scope="module")
def alerts(rules_dir: Path) -> dict[str, Doc]:
    groups = yaml.safe_load((rules_dir / "rules.yaml").read_text())["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def test_promtool_check_rules(rules_dir: Path, deploy_tools: Any) -> None:
    result = deploy_tools.run("promtool", "check", "rules", rules_dir / "rules.yaml")
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests(rules_dir: Path, deploy_tools: Any) -> None:
    tests = sorted(rules_dir.glob("*.test.yaml"))
    assert tests
    result = deploy_tools.run("promtool", "test", "rules", *tests)
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_is_tested_and_has_a_runbook(
    alerts: dict[str, Doc], rules_dir: Path, deploy_root: Path
) -> None:
    required = {
        "AistraleApiRouterHighErrorRate",
        "AistraleLatencySLOBreach",
        "AistraleBudgetExhaustion",
        "AistraleOutboxBacklog",
        "AistraleAnalyticsConsumerLag",
        "AistraleAnalyticsDeadLetters",
        "AistraleVllmQueueDepth",
    }
    assert required <= set(alerts)
    tested = "\n".join(p.read_text() for p in rules_dir.glob("*.test.yaml"))
    for name, rule in alerts.items():
        assert f"alertname: {name}\n" in tested, f"{name} has no promtool unit test"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        url = rule["annotations"]["runbook_url"]
        assert url.endswith(f"/docs/runbooks/{name}.md"), name
        runbook = deploy_root / "docs" / "runbooks" / f"{name}.md"
        assert runbook.is_file(), f"no runbook for {name}"
        text = runbook.read_text()
        for section in ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation"):
            assert section in text, f"{runbook.name}: missing {section}"


def _dashboard(deploy_root: Path, name: str) -> Doc:
    doc: Doc = json.loads((deploy_root / f"infra/grafana/dashboards/{name}.json").read_text())
    return doc


def _panels(dashboard: Doc) -> list[Doc]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _grafana_to_promql(expr: str) -> str:
    """Grafana substitutes its variables before Prometheus sees a query: do the same."""
    for var, value in {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}.items():
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?[a-z_]+\}?", ".*", expr)


def test_dashboards_are_shipped_for_the_sidecar(
    deploy_renders: dict[str, Any], deploy_root: Path
) -> None:
    maps = deploy_renders["infra/grafana"].of_kind("ConfigMap")
    assert {m["metadata"]["name"] for m in maps} == {f"aistrale-dashboard-{d}" for d in DASHBOARDS}
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["namespace"] == "monitoring"
        [(key, content)] = config_map["data"].items()
        assert json.loads(content) == _dashboard(deploy_root, key.removesuffix(".json"))
    files = {p.stem for p in (deploy_root / "infra/grafana/dashboards").glob("*.json")}
    assert files == set(DASHBOARDS)


def test_dashboard_structure(deploy_root: Path) -> None:
    uids = set()
    for name in DASHBOARDS:
        dashboard = _dashboard(deploy_root, name)
        uids.add(dashboard["uid"])
        assert dashboard["title"].startswith("AISTRALE / ")
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        for panel in _panels(dashboard):
            assert panel["targets"], f"{name}: panel {panel['title']} has no query"
            for target in panel["targets"]:
                for var in re.findall(r"\$\{?([a-z_]+)\}?", json.dumps(target)):
                    assert var.startswith("__") or var in variables, f"{name}: ${var} undefined"
    assert len(uids) == len(DASHBOARDS)


def test_every_dashboard_query_parses(deploy_root: Path, deploy_tools_python: Any) -> None:
    queries = []
    for name in DASHBOARDS:
        for panel in _panels(_dashboard(deploy_root, name)):
            for target in panel["targets"]:
                if "expr" in target:
                    queries.append(
                        {
                            "id": f"{name}: {panel['title']} {target['refId']}",
                            "expr": _grafana_to_promql(target["expr"]),
                        }
                    )
    results = deploy_tools_python("promql_check.py", stdin=queries)
    assert len(results) == len(queries) >= 40
    assert {r["id"]: r["error"] for r in results if r["error"]} == {}
    unknown = {r["id"]: m for r in results for m in r["metrics"] if not METRIC_SOURCES.match(m)}
    assert unknown == {}


def test_rule_expressions_use_known_metrics(
    alerts: dict[str, Doc], rules_dir: Path, deploy_tools_python: Any
) -> None:
    groups = yaml.safe_load((rules_dir / "rules.yaml").read_text())["groups"]
    queries = [
        {"id": r.get("alert") or r["record"], "expr": r["expr"]} for g in groups for r in g["rules"]
    ]
    results = deploy_tools_python("promql_check.py", stdin=queries)
    assert {r["id"]: r["error"] for r in results if r["error"]} == {}
    assert {r["id"]: m for r in results for m in r["metrics"] if not METRIC_SOURCES.match(m)} == {}


def test_the_model_dashboard_covers_vllm(deploy_root: Path) -> None:
    text = json.dumps(_dashboard(deploy_root, "model-performance"))
    for metric in (
        "vllm:num_requests_waiting",
        "vllm:num_requests_running",
        "vllm:kv_cache_usage_perc",  # vLLM >= 0.10
        "vllm:gpu_cache_usage_perc",  # before
        "vllm:time_to_first_token_seconds_bucket",
    ):
        assert metric in text


def test_org_usage_sql_reads_only_usage_events(deploy_root: Path) -> None:
    dashboard = _dashboard(deploy_root, "org-usage")
    sql = [t["rawSql"] for p in _panels(dashboard) for t in p["targets"] if "rawSql" in t]
    sql += [
        v["query"]
        for v in dashboard["templating"]["list"]
        if isinstance(v.get("query"), str) and "SELECT" in v["query"]
    ]
    assert len(sql) >= 5
    for query in sql:
        assert set(re.findall(r"\bFROM\s+(\w+)", query)) == {"usage_events"}, query
        columns = set(re.findall(r"\b([a-z_]+_(?:id|at|tokens|usd|ms))\b", query))
        assert columns <= USAGE_COLUMNS | {"p95_latency_ms"}, query
