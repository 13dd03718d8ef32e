"""Every rendered object is valid: built-in kinds against Kubernetes 1.32's OpenAPI schemas
(kubernetes-validate --strict, one batched call), custom resources for their required fields,
plus the invariants every workload we ship must keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Doc = dict[str, Any]


def test_render_is_not_empty(render_name: str, deploy_renders: dict[str, Any]) -> None:
    assert deploy_renders[render_name].docs, f"{render_name} rendered nothing"


def test_builtin_kinds_validate_strictly(
    render_name: str, deploy_kubernetes_validation: dict[str, list[str]]
) -> None:
    assert deploy_kubernetes_validation[render_name] == []


def test_validation_has_no_unattributed_output(
    deploy_kubernetes_validation: dict[str, list[str]],
) -> None:
    assert deploy_kubernetes_validation.get("<unattributed>", []) == []


def test_custom_resources_have_required_fields(
    render_name: str,
    deploy_renders: dict[str, Any],
    deploy_is_custom: Callable[[Doc], bool],
    deploy_custom_resource_problems: Callable[[Doc], list[str]],
) -> None:
    problems = {
        f"{doc['kind']}/{doc['metadata'].get('name')}": deploy_custom_resource_problems(doc)
        for doc in deploy_renders[render_name].docs
        if deploy_is_custom(doc)
    }
    assert {name: found for name, found in problems.items() if found} == {}


def _pod_specs(doc: Doc) -> Doc | None:
    if doc.get("kind") in {"Deployment", "StatefulSet", "Job"}:
        spec: Doc = doc["spec"]["template"]["spec"]
        return spec
    return None


def test_every_pod_is_restricted(render_name: str, deploy_renders: dict[str, Any]) -> None:
    """Pod Security 'restricted' (namespaces warn on it), resources, no API token."""
    for doc in deploy_renders[render_name].docs:
        pod = _pod_specs(doc)
        if pod is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod.get("automountServiceAccountToken") is False, where
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            assert ":latest" not in container["image"], where


def test_selectors_match_their_pods(render_name: str, deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders[render_name]
    pods = [
        (doc["metadata"].get("namespace"), doc["spec"]["template"]["metadata"]["labels"])
        for doc in render.docs
        if doc.get("kind") in {"Deployment", "StatefulSet"}
    ]

    def selects(selector: dict[str, str]) -> bool:
        return any(selector.items() <= labels.items() for _, labels in pods)

    for doc in render.docs:
        kind, spec = doc.get("kind"), doc.get("spec") or {}
        if kind == "Service" and spec.get("selector"):
            assert selects(spec["selector"]), f"Service/{doc['metadata']['name']} selects no pod"
        if kind == "PodDisruptionBudget":
            assert selects(spec["selector"]["matchLabels"]), doc["metadata"]["name"]
        if kind in {"Deployment", "StatefulSet"}:
            labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_scale_targets_exist(render_name: str, deploy_renders: dict[str, Any]) -> None:
    render = deploy_renders[render_name]
    for hpa in render.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        render.get(target["kind"], target["name"])
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


# ServiceMonitors of Services an operator creates from a custom resource of the same render:
# the Service is not rendered, the resource that makes it is (kind, name, the Service's port).
OPERATOR_SERVICES = {"rabbitmq": ("RabbitmqCluster", "rabbitmq", "prometheus")}
METRICS_PATHS = {"/metrics", "/metrics/detailed"}


def test_service_monitors_find_a_named_port(
    render_name: str, deploy_renders: dict[str, Any]
) -> None:
    render = deploy_renders[render_name]
    for monitor in render.of_kind("ServiceMonitor"):
        name = monitor["metadata"]["name"]
        if name in OPERATOR_SERVICES:
            kind, owner, port = OPERATOR_SERVICES[name]
            render.get(kind, owner)
            assert {e["port"] for e in monitor["spec"]["endpoints"]} == {port}
            continue
        selector = monitor["spec"]["selector"]["matchLabels"]
        services = [
            svc
            for svc in render.of_kind("Service")
            if selector.items() <= svc["metadata"]["labels"].items()
        ]
        assert services, f"ServiceMonitor/{name} selects no Service"
        ports = {port.get("name") for svc in services for port in svc["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in ports
            assert endpoint["path"] in METRICS_PATHS


@pytest.mark.parametrize("kind", ["NetworkPolicy"])
def test_network_policies_declare_both_directions(
    kind: str, render_name: str, deploy_renders: dict[str, Any]
) -> None:
    for policy in deploy_renders[render_name].of_kind(kind):
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}, policy["metadata"]
