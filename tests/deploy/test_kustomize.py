"""The overlays: one namespace each, quotas, pinned images, environment-sized replicas, and one
ingress host that routes /v1, /admin/v1 and /analytics/v1 and never /internal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]
PUBLIC_ROUTES = {
    "/v1": "api-router",
    "/admin/v1": "user-org",
    "/console": "user-org",
    "/analytics/v1": "analytics",
}
HOSTS = {
    "development": "dev.aistrale.example.com",
    "staging": "staging.aistrale.example.com",
    "production": "aistrale.example.com",
}
CLUSTER_SCOPED = {"Namespace", "ClusterIssuer", "PriorityClass"}


def test_everything_lands_in_the_environment_namespace(
    environment: str, deploy_renders: dict[str, Any], deploy_namespaces: dict[str, str]
) -> None:
    namespace = deploy_namespaces[environment]
    for name in (f"overlay/{environment}", f"datastores/{environment}"):
        for doc in deploy_renders[name].docs:
            if doc["kind"] == "Namespace":
                assert doc["metadata"]["name"] == namespace
            else:
                assert doc["metadata"]["namespace"] == namespace, (name, doc["metadata"])


def test_namespace_is_restricted_quoted_and_denied(
    environment: str, deploy_renders: dict[str, Any], deploy_namespaces: dict[str, str]
) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    namespace = render.get("Namespace", deploy_namespaces[environment])
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    hard = render.get("ResourceQuota", "aistrale-quota")["spec"]["hard"]
    assert {"requests.cpu", "requests.memory", "limits.memory", "pods"} <= set(hard)
    assert hard["services.loadbalancers"] == "0"
    deny = render.get("NetworkPolicy", "default-deny-all")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    render.get("LimitRange", "aistrale-defaults")


def test_ingress_routes_public_paths_only(environment: str, deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    [ingress] = render.of_kind("Ingress")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    [rule] = spec["rules"]
    assert rule["host"] == HOSTS[environment]
    assert spec["tls"] == [{"hosts": [HOSTS[environment]], "secretName": "aistrale-tls"}]
    issuer = ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    issuers = {doc["metadata"]["name"] for doc in deploy_renders["kustomize/platform"].docs}
    assert issuer in issuers
    routes = {}
    for path in rule["http"]["paths"]:
        assert path["pathType"] == "Prefix"
        assert "internal" not in path["path"]
        routes[path["path"]] = path["backend"]["service"]
    assert {path: svc["name"] for path, svc in routes.items()} == PUBLIC_ROUTES
    for path, backend in routes.items():
        service = render.get("Service", backend["name"])
        assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}, path


def test_no_ingress_anywhere_exposes_internal(deploy_renders: dict[str, Any]) -> None:
    for render in deploy_renders.values():
        for ingress in render.of_kind("Ingress"):
            for rule in ingress["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    assert not path["path"].startswith("/internal")


def test_images_are_pinned_per_environment(
    environment: str, deploy_renders: dict[str, Any], deploy_root: Path
) -> None:
    overlay = yaml.safe_load(
        (deploy_root / f"kustomize/overlays/{environment}/kustomization.yaml").read_text()
    )
    tags = {image["name"]: image["newTag"] for image in overlay["images"]}
    for workload in deploy_renders[f"overlay/{environment}"].workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            repository, tag = container["image"].rsplit(":", 1)
            assert tags[repository] == tag


def test_replicas_fit_the_environment(environment: str, deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    servers = [w for w in render.workloads() if w["kind"] != "Job"]
    assert sorted(w["metadata"]["name"] for w in servers) == ["analytics", "api-router", "user-org"]
    hpas = {h["metadata"]["name"]: h["spec"] for h in render.of_kind("HorizontalPodAutoscaler")}
    if environment == "development":
        assert hpas == {}
        assert all(w["spec"]["replicas"] == 1 for w in servers)
        return
    assert set(hpas) == {"analytics", "api-router", "user-org"}
    for server in servers:
        assert "replicas" not in server["spec"], "the HPA owns replicas"
    if environment == "production":
        assert all(spec["minReplicas"] >= 2 for spec in hpas.values())
        assert hpas["api-router"]["minReplicas"] >= 3
        for name in ("api-router", "user-org"):
            assert render.get("PodDisruptionBudget", name)["spec"]["minAvailable"] == 2


def test_services_start_in_dependency_order(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    waves = {
        w["metadata"]["name"]: int(w["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for w in render.workloads()
        if w["kind"] != "Job"
    }
    assert waves["user-org"] < waves["api-router"]
    for job in render.of_kind("Job"):
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"


def _catalog(render: Any) -> dict[str, Any]:
    [models] = [
        c
        for c in render.of_kind("ConfigMap")
        if c["metadata"]["name"].startswith("api-router-models")
    ]
    catalog: dict[str, Any] = yaml.safe_load(models["data"]["models.yaml"])
    return catalog


def test_model_catalog_is_consistent(environment: str, deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders[f"overlay/{environment}"]
    catalog = _catalog(render)
    names = {model["name"] for model in catalog["models"]}
    for model in catalog["models"]:
        assert set(model.get("fallbacks", [])) <= names - {model["name"]}
        assert model["pricing"]["input_micro_usd_per_mtok"] >= 0
        for deployment in model["deployments"]:
            assert deployment["provider"] in {
                "vllm",
                "openai",
                "anthropic",
                "gemini",
                "groq",
                "huggingface",
                "openai-compatible",
            }
    router = render.get("StatefulSet", "api-router")["spec"]["template"]["spec"]
    [volume] = [v for v in router["volumes"] if v["name"] == "models"]
    assert volume["configMap"]["name"].startswith("api-router-models-")  # hashed: rolls on change


def test_vllm_urls_point_at_the_environments_pools(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    catalog = _catalog(deploy_renders[f"overlay/{environment}"])
    urls = {
        dep["base_url"]
        for model in catalog["models"]
        for dep in model["deployments"]
        if dep["provider"] == "vllm"
    }
    pools = deploy_renders.get(f"argocd-app/{environment}/model-backend")
    services = set() if pools is None else {s["metadata"]["name"] for s in pools.of_kind("Service")}
    assert urls == {f"http://{name}:8000/v1" for name in services}


def test_exports_bucket_matches_terraform(environment: str, deploy_renders: dict[str, Any]) -> None:
    config = deploy_renders[f"overlay/{environment}"].get("ConfigMap", "analytics-config")["data"]
    # terraform/modules/platform: bucket_name = "${local.name}-exports", name aistrale-<env>
    assert config["AISTRALE_EXPORTS_S3_BUCKET"] == f"aistrale-{environment}-exports"
    endpoint = config["AISTRALE_EXPORTS_S3_ENDPOINT_URL"]
    assert endpoint.endswith(".linodeobjects.com")
    # Linode's S3 region is the endpoint's first label (us-ord-1.linodeobjects.com).
    assert config["AISTRALE_EXPORTS_S3_REGION"] == endpoint.removeprefix("https://").split(".")[0]


def test_services_run_as_their_environment(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    """staging and production run the placeholder-secret and KEK checks at startup."""
    render = deploy_renders[f"overlay/{environment}"]
    for service in PUBLIC_ROUTES.values():
        config = render.get("ConfigMap", f"{service}-config")["data"]
        assert config["AISTRALE_ENVIRONMENT"] == environment, service


def test_datastores_size_with_the_environment(
    environment: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[f"datastores/{environment}"]
    postgres = render.get("Cluster", "aistrale-pg")["spec"]
    rabbit = render.get("RabbitmqCluster", "rabbitmq")["spec"]
    if environment == "production":
        assert postgres["instances"] == 3
        assert rabbit["replicas"] == 3
    owners = {db["spec"]["name"]: db["spec"]["owner"] for db in render.of_kind("Database")}
    roles = {role["name"] for role in postgres["managed"]["roles"]}
    assert set(owners.values()) <= roles
    assert len(owners) == 3, "one database per service"
