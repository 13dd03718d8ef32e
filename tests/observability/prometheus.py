"""A real Prometheus (Debian's binary, from `make tools`) scraping local services, and the
PromQL of the dashboards and rules as Grafana and the ruler would send it."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from aistrale_testkit.processes import ServiceProcess
from aistrale_testkit.tcp_proxy import free_port

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = Path(os.environ.get("AISTRALE_TOOLS_DIR", ROOT / ".tools")) / "bin"
NAMESPACE = "aistrale"
# Grafana's variables, as a dashboard with every option selected and a range covering the
# whole test sends them (the scrape interval is 1 s, so a minute holds every sample).
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$namespace": NAMESPACE,
    "$model": ".*",
    "$vllm_model": ".*",
}
# A comparison with a number at the end of an alert's condition: what is left is the value
# the alert compares, which must have data even when the alert does not fire.
THRESHOLD = re.compile(r"\s*(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?-?[0-9.]+(?:e-?[0-9]+)?(?=\s|\)|$)")


@dataclass(frozen=True)
class Query:
    source: str  # "<file>: <panel or rule>"
    expr: str
    error_ratio: bool = False  # must be exactly 0 with no failures


OURS = re.compile(r"aistrale_(?:api_router|user_org|analytics)_|aistrale:|job=~\"api-router")


def reads_our_metrics(expr: str) -> bool:
    return OURS.search(expr) is not None


def grafana_to_promql(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def without_threshold(expr: str) -> str:
    return THRESHOLD.sub("", expr)


def rule_groups() -> list[dict[str, Any]]:
    spec = yaml.safe_load((ROOT / "infra/prometheus/aistrale-rules.yaml").read_text())["spec"]
    groups: list[dict[str, Any]] = spec["groups"]
    return groups


def dashboard_queries() -> list[Query]:
    found = []
    for path in sorted((ROOT / "infra/grafana/dashboards").glob("*.json")):
        for panel in _panels(json.loads(path.read_text())["panels"]):
            title = panel["title"]
            ratio = "5xx" in title or "error" in title.lower()
            for target in panel["targets"]:
                expr = target.get("expr")
                if expr and reads_our_metrics(expr):
                    query = Query(f"{path.name}: {title}", grafana_to_promql(expr), ratio)
                    found.append(query)
    return found


def variable_queries() -> list[tuple[str, str, str]]:
    """(dashboard, metric, label) of every `label_values(metric, label)` variable on ours."""
    found = []
    pattern = re.compile(r"label_values\((aistrale_\w+)(?:\{[^}]*\})?,\s*(\w+)\)")
    for path in sorted((ROOT / "infra/grafana/dashboards").glob("*.json")):
        for variable in json.loads(path.read_text())["templating"]["list"]:
            query = variable.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query or "")
            found += [(path.name, m, label) for m, label in pattern.findall(text)]
    return found


def rule_queries() -> list[Query]:
    found = []
    for group in rule_groups():
        for rule in group["rules"]:
            if not reads_our_metrics(rule["expr"]):
                continue
            if "record" in rule:
                found.append(Query(f"record {rule['record']}", rule["record"]))
                found.append(Query(f"record {rule['record']} (expr)", rule["expr"]))
            else:
                source = f"alert {rule['alert']}"
                found.append(Query(source, without_threshold(rule["expr"])))
    return found


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield from _panels(panel.get("panels", []))
        if panel.get("targets"):
            yield panel


def write_config(directory: Path, targets: Mapping[str, int]) -> Path:
    """Scrapes each service as the ServiceMonitors do (job, namespace and pod labels), every
    second, with our rules evaluated every second."""
    groups = [{**g, "interval": "1s"} for g in rule_groups()]
    (directory / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    scrape = [
        {
            "job_name": job,
            "static_configs": [
                {
                    "targets": [f"127.0.0.1:{port}"],
                    "labels": {"namespace": NAMESPACE, "pod": f"{job}-0"},
                }
            ],
        }
        for job, port in targets.items()
    ]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(directory / "rules.yaml")],
        "scrape_configs": scrape,
    }
    path = directory / "prometheus.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def prometheus(directory: Path, targets: Mapping[str, int]) -> Iterator[Prometheus]:
    binary = TOOLS_BIN / "prometheus"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} missing: run `make tools` (infra/validation/install-tools.sh)")
    config = write_config(directory, targets)
    port = free_port()
    argv = [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
    ]
    process = ServiceProcess(
        argv, port, {}, log_path=directory / "prometheus.log", ready_path="/-/ready"
    )
    process.start(timeout_s=30)
    try:
        with httpx.Client(base_url=process.url, timeout=10) as http:
            yield Prometheus(http)
    finally:
        process.terminate()


@dataclass
class Prometheus:
    http: httpx.Client

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as one sample); raises on a parse or eval error."""
        answer = self.http.get("/api/v1/query", params={"query": expr})
        body = answer.json()
        if body.get("status") != "success":
            raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def values(self, expr: str) -> list[float]:
        return [float(sample["value"][1]) for sample in self.query(expr)]

    def label_values(self, label: str, match: str) -> list[str]:
        answer = self.http.get(f"/api/v1/label/{label}/values", params={"match[]": match})
        values: list[str] = answer.json()["data"]
        return values

    def unhealthy_targets(self) -> dict[str, str]:
        """Scrapes that failed, by job: a failed scrape marks every series stale, so each
        query would say "no data" without saying why."""
        active = self.http.get("/api/v1/targets").json()["data"]["activeTargets"]
        return {t["labels"]["job"]: t["lastError"] for t in active if t["health"] != "up"}

    def rules(self) -> list[dict[str, Any]]:
        groups = self.http.get("/api/v1/rules").json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]


def finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]
