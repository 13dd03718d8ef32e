"""What the manifests configure is what the code reads: the collector the services trace to,
the body limit the ingress and the router share, the shutdown grace the pod leaves uvicorn,
the alert receivers, Grafana's datasources and its read-only role, the RabbitMQ scrape."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from aistrale_common.shutdown import CUT_MARGIN_S
from aistrale_router.settings import Settings as RouterSettings

Doc = dict[str, Any]
SERVICES = ("api-router", "user-org", "analytics")


def _apps(deploy_renders: dict[str, Any], environment: str) -> dict[str, Doc]:
    render = deploy_renders[f"argocd/{environment}"]
    return {app["metadata"]["name"]: app for app in render.of_kind("Application")}


def _values(app: Doc) -> Doc:
    values: Doc = app["spec"]["source"]["helm"]["valuesObject"]
    return values


def _server(render: Any, service: str) -> Doc:
    servers: list[Doc] = [
        d for d in render.workloads() if d["kind"] != "Job" and d["metadata"]["name"] == service
    ]
    assert len(servers) == 1, service
    return servers[0]


def test_services_trace_to_the_collector_over_otlp_http(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    collector = _values(_apps(deploy_renders, environment)["opentelemetry-collector"])
    http = collector["config"]["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.endswith(":4318") and collector["ports"]["otlp-http"]["enabled"]
    assert collector["fullnameOverride"] == "otel-collector"
    for service in SERVICES:
        config = render.get("ConfigMap", f"{service}-config")["data"]
        endpoint = urlsplit(config["AISTRALE_OTLP_ENDPOINT"])
        assert (endpoint.scheme, endpoint.hostname, endpoint.port) == (
            "http",
            "otel-collector.monitoring",
            4318,
        ), service
        egress = render.get("NetworkPolicy", service)["spec"]["egress"]
        to_monitoring = [
            port["port"]
            for rule in egress
            for peer in rule.get("to", [])
            if peer.get("namespaceSelector", {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name")
            == "monitoring"
            for port in rule["ports"]
        ]
        assert to_monitoring == [4318], service


def test_the_collector_forwards_traces_to_tempo(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    apps = _apps(deploy_renders, environment)
    collector = _values(apps["opentelemetry-collector"])["config"]
    [pipeline] = [collector["service"]["pipelines"]["traces"]]
    assert pipeline["receivers"] == ["otlp"]
    [exporter] = pipeline["exporters"]
    assert collector["exporters"][exporter]["endpoint"] == "tempo.monitoring.svc:4317"
    tempo = _values(apps["tempo"])
    assert tempo["fullnameOverride"] == "tempo"
    assert tempo["tempo"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
    services_wave = int(
        apps["aistrale-services"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
    )
    for name in ("opentelemetry-collector", "tempo"):
        assert (
            int(apps[name]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
            < services_wave
        )


def _mebibytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(size[:-1]) * units[size[-1].lower()]


def test_the_ingress_admits_every_body_the_router_admits(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    [ingress] = render.of_kind("Ingress")
    size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    config = render.get("ConfigMap", "api-router-config")["data"]
    limit = int(config.get("AISTRALE_MAX_REQUEST_BYTES", RouterSettings().max_request_bytes))
    assert _mebibytes(size) == limit  # larger: nginx's HTML 413 never shows; smaller: it does


def test_uvicorn_ends_before_the_kubelet_kills(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    """uvicorn's graceful timeout is the app's grace plus CUT_MARGIN_S (server_config): all of
    it, after the preStop sleep, must fit in terminationGracePeriodSeconds."""
    render = deploy_renders[f"overlay/{environment}"]
    for service in SERVICES:
        pod = _server(render, service)["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        grace = float(env["AISTRALE_SHUTDOWN_GRACE_S"])
        uvicorn_timeout = math.ceil(grace + CUT_MARGIN_S)
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop + uvicorn_timeout < pod["terminationGracePeriodSeconds"], service


def test_alerts_reach_slack_through_a_mounted_secret(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    stack = _values(_apps(deploy_renders, environment)["kube-prometheus-stack"])
    alertmanager = stack["alertmanager"]
    secrets = alertmanager["alertmanagerSpec"]["secrets"]
    config = alertmanager["config"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    routed = {config["route"]["receiver"]} | {r["receiver"] for r in config["route"]["routes"]}
    assert routed <= set(receivers)
    slack = [c for r in receivers.values() for c in r.get("slack_configs", [])]
    assert slack, "no Slack receiver"
    for entry in slack:
        assert "api_url" not in entry, "the webhook is a secret: api_url_file only"
        path = entry["api_url_file"]
        assert any(path.startswith(f"/etc/alertmanager/secrets/{s}/") for s in secrets), path


def test_grafana_reads_analytics_with_a_read_only_role(
    environment: str, deploy_renders: dict[str, Any], deploy_namespaces: dict[str, str]
) -> None:
    grafana = _values(_apps(deploy_renders, environment)["kube-prometheus-stack"])["grafana"]
    sources = {s["uid"]: s for s in grafana["additionalDataSources"]}
    postgres = sources["aistrale-analytics"]
    assert postgres["type"] == "grafana-postgresql-datasource"  # what org-usage.json asks for
    assert postgres["url"] == f"aistrale-pg-r.{deploy_namespaces[environment]}.svc:5432"
    assert postgres["jsonData"]["database"] == "analytics"
    mount = {m["secretName"]: m["mountPath"] for m in grafana["extraSecretMounts"]}
    assert postgres["secureJsonData"]["password"] == (
        f"$__file{{{mount['pg-role-grafana']}/password}}"
    )
    assert sources["tempo"]["url"].startswith("http://tempo.monitoring.svc:")
    datastores = deploy_renders[f"datastores/{environment}"]
    roles = {
        r["name"]: r for r in datastores.get("Cluster", "aistrale-pg")["spec"]["managed"]["roles"]
    }
    role = roles[postgres["user"]]
    assert role["passwordSecret"]["name"] == "pg-role-grafana"
    assert not role.get("superuser") and not role.get("inherit", True)
    ingress = datastores.get("NetworkPolicy", "postgres")["spec"]["ingress"]
    grafana_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "grafana"}},
    }
    assert any(
        grafana_peer in rule["from"] and {"port": 5432, "protocol": "TCP"} in rule["ports"]
        for rule in ingress
    )


def test_node_pools_and_rabbitmq_queues_are_scraped(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    stack = _values(_apps(deploy_renders, environment)["kube-prometheus-stack"])
    assert "nodes=[aistrale.io/pool]" in stack["kube-state-metrics"]["metricLabelsAllowlist"]
    monitor = deploy_renders[f"datastores/{environment}"].get("ServiceMonitor", "rabbitmq")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    families = [e.get("params", {}).get("family") for e in monitor["spec"]["endpoints"]]
    assert ["queue_coarse_metrics"] in families  # rabbitmq_detailed_queue_messages_ready
    policy = deploy_renders[f"datastores/{environment}"].get("NetworkPolicy", "rabbitmq")
    assert any(
        {"port": 15692, "protocol": "TCP"} in rule["ports"] for rule in policy["spec"]["ingress"]
    )
