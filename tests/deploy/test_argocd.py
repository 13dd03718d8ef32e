"""Argo CD: per environment, projects and an app-of-apps whose sync waves bring add-ons, then data
stores, then vLLM, then the services (migrations as PreSync hooks), then dashboards and alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]
REPO = "https://github.com/aistrale/aistrale.git"


def _apps(render: Any) -> dict[str, Doc]:
    return {app["metadata"]["name"]: app for app in render.of_kind("Application")}


def _wave(doc: Doc) -> int:
    return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def test_sync_waves_order_the_platform(environment: str, deploy_renders: dict[str, Any]) -> None:
    apps = _apps(deploy_renders[f"argocd/{environment}"])
    waves = {name: _wave(app) for name, app in apps.items()}
    operators = (
        "cert-manager",
        "cloudnative-pg",
        "rabbitmq-cluster-operator",
        "kube-prometheus-stack",
        "ingress-nginx",
        "sealed-secrets",
    )
    for operator in operators:
        assert waves[operator] < waves["aistrale-datastores"], operator
    assert waves["cert-manager"] < waves["platform-config"] < waves["aistrale-services"]
    assert waves["aistrale-datastores"] < waves["aistrale-services"]
    assert waves["aistrale-services"] < waves["aistrale-dashboards"]
    assert waves["aistrale-services"] < waves["aistrale-alerts"]
    if environment == "development":
        assert "aistrale-model-backend" not in apps
        assert "nvidia-device-plugin" not in apps
    else:
        assert waves["nvidia-device-plugin"] < waves["aistrale-model-backend"]
        assert waves["aistrale-datastores"] < waves["aistrale-model-backend"]
        assert waves["aistrale-model-backend"] < waves["aistrale-services"]


def test_projects_admit_their_applications(
    environment: str, deploy_renders: dict[str, Any], deploy_namespaces: dict[str, str]
) -> None:
    render = deploy_renders[f"argocd/{environment}"]
    projects = {p["metadata"]["name"]: p["spec"] for p in render.of_kind("AppProject")}
    assert set(projects) == {f"platform-{environment}", f"aistrale-{environment}"}
    assert projects[f"aistrale-{environment}"]["sourceRepos"] == [REPO]
    for name, app in _apps(render).items():
        spec = app["spec"]
        project = projects[spec["project"]]
        destination = spec["destination"]
        assert {"server": destination["server"], "namespace": destination["namespace"]} in (
            project["destinations"]
        ), name
        assert spec["source"]["repoURL"] in project["sourceRepos"], name
        if name.startswith("aistrale-"):
            assert spec["project"] == f"aistrale-{environment}"
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert app["metadata"]["namespace"] == "argocd"
    services = _apps(render)["aistrale-services"]["spec"]
    assert services["destination"]["namespace"] == deploy_namespaces[environment]


def test_sources_in_this_repository_exist(
    environment: str, deploy_renders: dict[str, Any], deploy_root: Path
) -> None:
    for name, app in _apps(deploy_renders[f"argocd/{environment}"]).items():
        source = app["spec"]["source"]
        if source["repoURL"] != REPO:
            assert source["targetRevision"][0].isdigit() or source["targetRevision"][0] == "v", (
                f"{name}: pin upstream charts to a version"
            )
            continue
        path = deploy_root / source["path"]
        assert path.is_dir(), f"{name}: {source['path']} does not exist"
        assert (path / "kustomization.yaml").is_file() or (path / "Chart.yaml").is_file(), name
    for env_name in ("services", "datastores"):
        path = _apps(deploy_renders[f"argocd/{environment}"])[f"aistrale-{env_name}"]
        assert environment in path["spec"]["source"]["path"]


def test_root_application_bootstraps_the_environment(environment: str, deploy_root: Path) -> None:
    root = yaml.safe_load((deploy_root / f"argocd/bootstrap/{environment}-root.yaml").read_text())
    assert root["spec"]["source"] == {
        "repoURL": REPO,
        "targetRevision": "main",
        "path": f"argocd/environments/{environment}",
    }
    assert root["spec"]["destination"]["namespace"] == "argocd"


def test_argocd_settings_enable_helm_and_app_health(deploy_root: Path) -> None:
    settings = yaml.safe_load((deploy_root / "argocd/bootstrap/argocd-cm.yaml").read_text())
    assert settings["data"]["kustomize.buildOptions"] == (
        "--enable-helm --load-restrictor LoadRestrictionsNone"
    )
    assert "hs.status" in settings["data"]["resource.customizations.health.argoproj.io_Application"]


def test_gpu_pools_fit_the_terraform_gpu_nodes(
    deploy_renders: dict[str, Any], deploy_root: Path
) -> None:
    """Each environment's vLLM GPUs fit on its GPU pool (one RTX 6000 per g1-gpu-rtx6000-1)."""
    for environment in ("staging", "production"):
        tfvars = deploy_root / f"terraform/environments/{environment}/terraform.tfvars"
        nodes = next(
            int(line.split("=")[1])
            for line in tfvars.read_text().splitlines()
            if line.startswith("gpu_node_count")
        )
        pools = deploy_renders[f"argocd-app/{environment}/model-backend"]
        gpus = sum(
            d["spec"]["replicas"]
            * d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][
                "nvidia.com/gpu"
            ]
            for d in pools.of_kind("Deployment")
        )
        assert 0 < gpus <= nodes, environment
