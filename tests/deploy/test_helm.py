"""Every chart lints strictly with every ci/ scenario, keeps the shared skeleton, and renders the
objects the platform relies on (probes, hooks, GPU scheduling, deny-by-default policies)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

Doc = dict[str, Any]
SERVICE_PORTS = {"api-router": 8080, "user-org": 8081, "analytics": 8082}


def test_chart_lints_strictly(
    chart_scenario: tuple[str, Path], deploy_tools: Any, deploy_chart_args: Any
) -> None:
    chart, values = chart_scenario
    result = deploy_tools.run("helm", "lint", "--strict", *deploy_chart_args(chart, values))
    assert "0 chart(s) failed" in result.stdout


def test_umbrella_lints_strictly(deploy_umbrella_dir: Path, deploy_tools: Any) -> None:
    for values in sorted((deploy_umbrella_dir / "ci").glob("*-values.yaml")):
        result = deploy_tools.run("helm", "lint", "--strict", deploy_umbrella_dir, "-f", values)
        assert "0 chart(s) failed" in result.stdout, values.name


@pytest.mark.parametrize("chart_name", ["aistrale-service", "model-backend", "aistrale"])
def test_chart_skeleton(chart_name: str, deploy_root: Path) -> None:
    """The prometheus-community layout: Chart.yaml, values, schema, templates/, ci/ scenarios."""
    base = deploy_root / "charts" / chart_name
    for name in ("Chart.yaml", "values.yaml", "values.schema.json", "README.md"):
        assert (base / name).is_file(), f"{chart_name}: no {name}"
    assert list((base / "templates").iterdir()), f"{chart_name}: no templates"
    assert list((base / "ci").glob("*-values.yaml")), f"{chart_name}: no ci scenarios"
    meta = yaml.safe_load((base / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == chart_name


def test_no_template_is_copied_between_charts(deploy_root: Path) -> None:
    """One chart per kind of workload: the services are three releases of aistrale-service."""
    charts = sorted(p.parent for p in (deploy_root / "charts").glob("*/Chart.yaml"))
    assert [c.name for c in charts] == ["aistrale", "aistrale-service", "model-backend"]
    seen: dict[bytes, Path] = {}
    for chart in charts:
        for template in sorted((chart / "templates").iterdir()):
            body = template.read_bytes()
            assert body not in seen, f"{template} copies {seen.get(body)}"
            seen[body] = template


def test_every_renderer_uses_the_services_own_values(deploy_root: Path) -> None:
    """kustomize/base and the umbrella chart start each release from services/<service>.yaml."""
    base = yaml.safe_load((deploy_root / "kustomize/base/kustomization.yaml").read_text())
    releases = {chart["releaseName"]: chart for chart in base["helmCharts"]}
    umbrella = yaml.safe_load((deploy_root / "charts/aistrale/values.yaml").read_text())
    meta = yaml.safe_load((deploy_root / "charts/aistrale/Chart.yaml").read_text())
    aliases = {d["alias"]: d["name"] for d in meta["dependencies"] if "alias" in d}
    assert aliases == dict.fromkeys(SERVICE_PORTS, "aistrale-service")
    for service in SERVICE_PORTS:
        own_file = f"charts/aistrale-service/services/{service}.yaml"
        own = yaml.safe_load((deploy_root / own_file).read_text())
        assert releases[service]["name"] == "aistrale-service"
        assert releases[service]["valuesFile"] == f"../../{own_file}"
        block = dict(umbrella[service])
        assert block.pop("fullnameOverride") == service
        assert block == own, f"charts/aistrale/values.yaml's {service} differs from {own_file}"


def _server(render: Any, chart: str) -> Doc:
    found = [d for d in render.docs if d["kind"] in {"Deployment", "StatefulSet"}]
    assert len(found) == 1, [d["kind"] for d in found]
    server: Doc = found[0]
    assert server["metadata"]["name"] == chart
    return server


def test_service_pods_probe_the_contract(
    service_chart: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"chart/{service_chart}/production"]
    container = _server(render, service_chart)["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["ports"] == [
        {"name": "http", "containerPort": SERVICE_PORTS[service_chart], "protocol": "TCP"}
    ]
    assert container["command"] == [f"aistrale-{service_chart}"]
    assert container["args"][0] == "serve"
    assert container["image"].startswith(f"ghcr.io/aistrale/{service_chart}@sha256:")
    assert container["securityContext"]["runAsUser"] == 10001
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/data", "/tmp"} <= mounts
    service = render.get("Service", service_chart)
    assert service["spec"]["ports"][0]["port"] == SERVICE_PORTS[service_chart]


@pytest.mark.parametrize("scenario", ["chart/api-router/production", "overlay/production"])
def test_the_app_grace_fits_inside_the_pod_grace(
    scenario: str, deploy_renders: dict[str, Any]
) -> None:
    """SIGTERM: the router drains for AISTRALE_SHUTDOWN_GRACE_S, then ends what is left and
    flushes usage; all of it must end before the kubelet's SIGKILL."""
    render = deploy_renders[scenario]
    (router,) = [
        d
        for d in render.docs
        if d["kind"] in {"Deployment", "StatefulSet"} and d["metadata"]["name"] == "api-router"
    ]
    pod = router["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    grace = float(env["AISTRALE_SHUTDOWN_GRACE_S"])
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    backstop_and_flush = 20  # the chart's shutdownReserveSeconds
    assert pod["terminationGracePeriodSeconds"] == 90
    assert grace == 90 - pre_stop - backstop_and_flush == 65


def test_a_pod_grace_too_short_for_the_drain_is_refused(deploy_tools: Any) -> None:
    result = deploy_tools.run(
        "helm",
        "template",
        "x",
        "charts/aistrale-service",
        "--set",
        "terminationGracePeriodSeconds=20",
        check=False,
    )
    assert result.returncode != 0
    assert "must exceed preStopSleepSeconds + shutdownReserveSeconds" in result.stderr


def test_router_outbox_is_durable_per_replica(deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders["chart/api-router/production"]
    router = _server(render, "api-router")
    assert router["kind"] == "StatefulSet"
    claims = router["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]
    config = render.get("ConfigMap", "api-router-config")["data"]
    assert config["AISTRALE_DATA_DIR"] == "/data"
    assert config["AISTRALE_MODELS_FILE"] == "/etc/aistrale/models.yaml"
    assert render.get("HorizontalPodAutoscaler", "api-router")["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": "api-router",
    }


def test_development_router_is_a_deployment(deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders["chart/api-router/development"]
    assert _server(render, "api-router")["kind"] == "Deployment"
    assert not render.of_kind("NetworkPolicy")


def test_migration_runs_before_every_install_and_upgrade(
    service_chart: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"chart/{service_chart}/production"]
    job = render.get("Job", f"{service_chart}-migrate")
    notes = job["metadata"]["annotations"]
    assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert notes["argocd.argoproj.io/hook"] == "PreSync"
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["migrate"]
    assert pod["containers"][0]["command"] == [f"aistrale-{service_chart}"]
    assert pod["serviceAccountName"] == "default"  # the release's own one does not exist yet
    assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "aistrale-secrets"}}]
    policy = render.get("NetworkPolicy", f"{service_chart}-migration")
    assert policy["metadata"]["annotations"]["helm.sh/hook-weight"] < notes["helm.sh/hook-weight"]


def test_network_policy_denies_by_default(
    service_chart: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"chart/{service_chart}/production"]
    policy = render.get("NetworkPolicy", service_chart)
    pods = _server(render, service_chart)["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pods.items()
    [ingress] = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"port": "http", "protocol": "TCP"}]
    peers = [peer.get("podSelector", {}).get("matchLabels") for peer in ingress["from"]]
    router_peer = {"app.kubernetes.io/name": "api-router"}
    # Only user-org takes the router's /internal/v1 calls.
    assert (router_peer in peers) == (service_chart == "user-org")


def test_secret_sources(service_chart: str, deploy_renders: dict[str, Any]) -> None:
    sealed = deploy_renders[f"chart/{service_chart}/sealed-secret"]
    [secret] = sealed.of_kind("SealedSecret")
    assert secret["metadata"]["annotations"]["helm.sh/hook-weight"] == "-10"
    assert secret["spec"]["template"]["metadata"]["name"] == f"{service_chart}-secrets"
    dev = deploy_renders[f"chart/{service_chart}/development"]
    assert [s["metadata"]["name"] for s in dev.of_kind("Secret")] == [f"{service_chart}-secrets"]
    assert not deploy_renders[f"chart/{service_chart}/production"].of_kind("Secret")


@pytest.mark.parametrize(
    "override",
    [
        "securityContext.readOnlyRootFilesystem=false",
        "securityContext.runAsNonRoot=false",
        "secret.create=true",
        "secret.sealed.enabled=true",
        "persistence.size=lots",
        "config.LOG_LEVEL=debug",
        "image.digest=sha256:nothex",
        "unknownKey=1",
    ],
)
def test_schema_rejects_bad_values(override: str, deploy_tools: Any) -> None:
    result = deploy_tools.run(
        "helm", "template", "x", "charts/aistrale-service", "--set", override, check=False
    )
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr


def test_vllm_pools_schedule_on_the_gpu_pool(deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders["chart/model-backend/two-models"]
    deployments = render.of_kind("Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == [
        "model-backend-llama-3-1-8b",
        "model-backend-qwen2-5-32b",
    ]
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        gpus = container["resources"]["limits"]["nvidia.com/gpu"]
        assert container["resources"]["requests"]["nvidia.com/gpu"] == gpus
        assert container["args"][container["args"].index("--tensor-parallel-size") + 1] == str(gpus)
        assert pod["nodeSelector"] == {"aistrale.io/pool": "gpu"}
        assert {
            "key": "nvidia.com/gpu",
            "operator": "Equal",
            "value": "true",
            "effect": "NoSchedule",
        } in pod["tolerations"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
    [monitor] = render.of_kind("ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert len(render.of_kind("Service")) == len(deployments)


def test_model_backend_without_models_renders_no_pool(deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders["chart/model-backend/default"]
    assert not render.of_kind("Deployment")
    assert not render.of_kind("ServiceMonitor")


def test_umbrella_renders_the_whole_platform(deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders["chart/aistrale/full-platform"]
    names = {(d["kind"], d["metadata"]["name"]) for d in render.docs}
    for service in ("api-router", "user-org", "analytics"):
        assert ("Service", service) in names
        assert ("Job", f"{service}-migrate") in names
    assert ("Deployment", "model-backend-llama-3-1-8b") in names
    catalog = yaml.safe_load(render.get("ConfigMap", "api-router-models")["data"]["models.yaml"])
    vllm_urls = {
        dep["base_url"]
        for model in catalog["models"]
        for dep in model["deployments"]
        if dep["provider"] == "vllm"
    }
    assert vllm_urls == {"http://model-backend-llama-3-1-8b:8000/v1"}
    assert ("Deployment", "model-backend-llama-3-1-8b") in names
    default = deploy_renders["chart/aistrale/default"]
    assert not default.of_kind("HorizontalPodAutoscaler")
    assert not [d for d in default.docs if d["metadata"]["name"].startswith("model-backend")]
