"""Every aistrale_* series the alert rules, their promtool tests, the dashboards and the charts
name is one its service really exposes, with the labels they select or group by.

Each service's app is started in process (embedded SQLite, in-process bus, fake user-org and
upstream for the router) with its lifespan running, since some metrics are registered there;
the names come from its actual /metrics output, the label names from its registry.
A metric renamed (or a label dropped) on either side fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

import aistrale_analytics.app
import aistrale_analytics.migrate
import aistrale_analytics.settings
import aistrale_router.app
import aistrale_router.migrate
import aistrale_router.settings
import aistrale_userorg.app
import aistrale_userorg.migrate
import aistrale_userorg.settings
from aistrale_common.events import MemoryEventBus
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.service_state import app_runtime
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import catalog_for

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("api_router", "user_org", "analytics")
METRIC = re.compile(r"(?<![\w:])aistrale_(?:api_router|user_org|analytics)_[a-z0-9_]+")
SERIES_SUFFIXES = ("_bucket", "_sum", "_count")
# Added by Prometheus from the scrape target (ServiceMonitor), not by the services.
TARGET_LABELS = frozenset({"namespace", "pod", "job", "instance", "service", "container"})
SELECTOR = re.compile(rf"({METRIC.pattern})\{{([^}}]*)\}}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPED = re.compile(
    rf"\bby\s*\(([^)]*)\)\s*\(\s*(?:[a-z_]+\(\s*)*({METRIC.pattern})", re.MULTILINE
)
LABEL_VALUES = re.compile(rf"label_values\(\s*({METRIC.pattern})(?:\{{[^}}]*\}})?\s*,\s*(\w+)\s*\)")


@dataclass(frozen=True)
class Exposed:
    names: frozenset[str]  # as /metrics writes them: counters with _total, histograms bare
    labels: dict[str, frozenset[str]]


def reference_files() -> list[Path]:
    files = [
        *sorted((ROOT / "infra/prometheus").rglob("*.yaml")),
        *sorted((ROOT / "infra/grafana/dashboards").glob("*.json")),
    ]
    charts = (ROOT / "charts").rglob("*")
    files += sorted(p for p in charts if p.suffix in {".yaml", ".yml", ".json", ".tpl"})
    return files


def queries() -> Iterator[tuple[Path, str]]:
    """Every PromQL expression or series selector, with the file it came from."""
    for path in reference_files():
        text = path.read_text()
        if not METRIC.search(text):
            continue
        if path.suffix == ".json":
            yield from ((path, q) for q in _json_strings(json.loads(text)))
        else:
            yield from ((path, q) for doc in yaml.safe_load_all(text) for q in _yaml_strings(doc))


def _json_strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _json_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _json_strings(item)


_yaml_strings = _json_strings


def base_name(reference: str) -> str:
    for suffix in SERIES_SUFFIXES:
        if reference.endswith(suffix):
            return reference.removesuffix(suffix)
    return reference


def referenced() -> dict[str, set[str]]:
    """Metric name (histograms without their series suffix) -> label names it must have."""
    found: dict[str, set[str]] = {}
    for _, query in queries():
        for name in METRIC.findall(query):
            found.setdefault(base_name(name), set())
        for name, matchers in SELECTOR.findall(query):
            found[base_name(name)].update(MATCHER.findall(matchers))
        for grouping, name in GROUPED.findall(query):
            found[base_name(name)].update(g.strip() for g in grouping.split(",") if g.strip())
        for name, label in LABEL_VALUES.findall(query):
            found[base_name(name)].add(label)
    return {
        name: {label for label in labels if label not in TARGET_LABELS and label != "le"}
        for name, labels in found.items()
    }


def owner(metric: str) -> str:
    return next(s for s in SERVICES if metric.startswith(f"aistrale_{s}_"))


def labels_of(registry: CollectorRegistry) -> dict[str, frozenset[str]]:
    labels: dict[str, frozenset[str]] = {}
    # No public API lists a labelled metric's label names before it has a child.
    for name, collector in registry._names_to_collectors.items():
        if isinstance(collector, MetricWrapperBase):
            labels[name] = frozenset(collector._labelnames)
        elif hasattr(collector, "label_names"):  # our custom collectors declare theirs
            labels[name] = frozenset(collector.label_names()[name])
    return labels


async def exposed_by(app: FastAPI) -> Exposed:
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    names = frozenset(re.findall(r"^# TYPE (\S+) ", scraped.text, re.MULTILINE))
    metrics: ServiceMetrics = app_runtime(app).metrics
    return Exposed(names, labels_of(metrics.registry))


@asynccontextmanager
async def router_app(tmp: Path) -> AsyncIterator[FastAPI]:
    models = tmp / "models.yaml"
    models.write_text(yaml.safe_dump(catalog_for("http://vllm.test")))
    settings = aistrale_router.settings.Settings(
        data_dir=tmp, models_file=models, service_token="t" * 20
    )
    await aistrale_router.migrate.migrate_async(settings)
    bus = MemoryEventBus()
    try:
        yield aistrale_router.app.create_app(
            settings,
            bus=bus,
            userorg_transport=httpx.ASGITransport(FakeUserOrg(service_token="t" * 20).app),
            upstream_transport=httpx.ASGITransport(FakeVllm().app),
        )
    finally:
        await bus.close()


@asynccontextmanager
async def user_org_app(tmp: Path) -> AsyncIterator[FastAPI]:
    settings = aistrale_userorg.settings.Settings(data_dir=tmp)
    await aistrale_userorg.migrate.migrate_async(settings)
    bus = MemoryEventBus()
    try:
        yield aistrale_userorg.app.create_app(settings, bus=bus)
    finally:
        await bus.close()


@asynccontextmanager
async def analytics_app(tmp: Path) -> AsyncIterator[FastAPI]:
    # Consumes usage from the in-process bus; no Redis: no reconciliation.
    settings = aistrale_analytics.settings.Settings(data_dir=tmp)
    await aistrale_analytics.migrate.migrate_async(settings)
    bus = MemoryEventBus()
    try:
        yield aistrale_analytics.app.create_app(settings, bus=bus)
    finally:
        await bus.close()


APPS = {"api_router": router_app, "user_org": user_org_app, "analytics": analytics_app}


@pytest.fixture(scope="module")
async def exposed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exposed]:
    found = {}
    async with AsyncExitStack() as stack:
        for service, build in APPS.items():
            app = await stack.enter_async_context(build(tmp_path_factory.mktemp(service)))
            found[service] = await exposed_by(app)
    return found


def test_the_references_are_found() -> None:
    names = referenced()
    # Guards the scan itself: the alerts' and dashboards' core series must be seen.
    for name in (
        "aistrale_api_router_requests_total",
        "aistrale_api_router_upstream_ttft_seconds",
        "aistrale_analytics_consumer_lag",
        "aistrale_user_org_http_requests_total",
    ):
        assert name in names
    assert names["aistrale_api_router_requests_total"] >= {"route", "status", "model"}
    assert names["aistrale_api_router_budget_rejections_total"] == {"org_id"}
    assert {owner(n) for n in names} == set(SERVICES)


def test_every_referenced_metric_is_exposed_by_its_service(exposed: dict[str, Exposed]) -> None:
    missing = {name: owner(name) for name in referenced() if name not in exposed[owner(name)].names}
    assert missing == {}


def test_referenced_labels_exist_on_the_metric(exposed: dict[str, Exposed]) -> None:
    wrong = {}
    for name, wanted in referenced().items():
        have = exposed[owner(name)].labels.get(name, frozenset())
        if not wanted <= have:
            wrong[name] = sorted(wanted - have)
    assert wrong == {}
