"""The offline toolchain is the one install-tools.sh pins (Helm 3: Helm 4 breaks kustomize)."""

from __future__ import annotations

from typing import Any


def test_helm_is_helm_3_17(deploy_tools: Any) -> None:
    version = deploy_tools.run("helm", "version", "--short").stdout
    assert version.startswith("v3.17."), version


def test_kubectl_is_1_32_with_kustomize(deploy_tools: Any) -> None:
    version = deploy_tools.run("kubectl", "version", "--client").stdout
    assert "Client Version: v1.32." in version, version
    assert "Kustomize Version: v5." in version, version


def test_promtool_runs(deploy_tools: Any) -> None:
    result = deploy_tools.run("promtool", "--version")
    assert "promtool, version 2." in result.stdout + result.stderr


def test_kubernetes_validate_runs(deploy_tools: Any) -> None:
    # checkov's version is asserted by test_checkov.py's run (its start-up alone takes seconds).
    assert deploy_tools.run("kubernetes-validate", "--version").stdout.strip()


def test_tools_venv_has_parsers(deploy_tools: Any) -> None:
    code = "import hcl2, promql_parser, kubernetes_validate; print('ok')"
    assert deploy_tools.run("python", "-c", code).stdout.strip() == "ok"
