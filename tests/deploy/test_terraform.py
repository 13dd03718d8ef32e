"""Terraform, parsed with python-hcl2 (no provider download, no plan): the LKE cluster, its
baseline and GPU pools, firewall, exports bucket and DNS, with no secrets in files.

Layout: modules/platform wires the five building-block modules once; each environment root
calls it once with its terraform.tfvars and passes its outputs through."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

Doc = dict[str, Any]
ENVIRONMENTS = ("development", "staging", "production")
ROOT_FILES = (
    "main.tf",
    "variables.tf",
    "outputs.tf",
    "versions.tf",
    "moved.tf",
    "terraform.tfvars",
)
MODULES = ("lke-cluster", "gpu-pool", "object-storage", "firewall", "dns", "platform")
# The platform module's calls: the building blocks, each once for every environment.
PLATFORM_CALLS = {
    "firewall": "../firewall",
    "cluster": "../lke-cluster",
    "gpu_pool": "../gpu-pool",
    "exports": "../object-storage",
    "dns": "../dns",
}


@pytest.fixture(scope="module")
def hcl(deploy_tools_python: Any) -> dict[str, Doc]:
    parsed: dict[str, Doc] = deploy_tools_python("hcl2json.py", "terraform")
    return parsed


def _resources(doc: Doc, kind: str) -> dict[str, Doc]:
    found: dict[str, Doc] = {}
    for block in doc.get("resource", []):
        found.update(block.get(kind, {}))
    return found


def _blocks(doc: Doc, key: str) -> dict[str, Doc]:
    found: dict[str, Doc] = {}
    for block in doc.get(key, []):
        found.update(block)
    return found


def test_every_file_parses(hcl: dict[str, Doc]) -> None:
    assert len(hcl) >= len(MODULES) * 4 + len(ENVIRONMENTS) * len(ROOT_FILES)
    assert {path: doc["__error__"] for path, doc in hcl.items() if "__error__" in doc} == {}


def test_layout(hcl: dict[str, Doc]) -> None:
    for module in MODULES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert f"modules/{module}/{name}" in hcl
    for environment in ENVIRONMENTS:
        for name in ROOT_FILES:
            assert f"environments/{environment}/{name}" in hcl


def test_baseline_pool_autoscales_and_keeps_external_pools(hcl: dict[str, Doc]) -> None:
    cluster = _resources(hcl["modules/lke-cluster/main.tf"], "linode_lke_cluster")["this"]
    assert cluster["external_pool_tags"] == ["${var.external_pool_tag}"]
    [pool] = cluster["pool"]
    assert pool["autoscaler"] == [
        {"min": "${var.baseline_min_nodes}", "max": "${var.baseline_max_nodes}"}
    ]
    assert pool["firewall_id"] == "${var.firewall_id}"
    [acl] = cluster["control_plane"][0]["acl"]
    assert acl["enabled"] is True
    variables = _blocks(hcl["modules/lke-cluster/variables.tf"], "variable")
    assert variables["baseline_node_type"]["default"] == "g6-standard-8"
    assert (
        variables["baseline_min_nodes"]["default"],
        variables["baseline_max_nodes"]["default"],
    ) == (3, 10)


def test_gpu_pool_is_tainted_labelled_and_external(hcl: dict[str, Doc]) -> None:
    pool = _resources(hcl["modules/gpu-pool/main.tf"], "linode_lke_node_pool")["gpu"]
    assert "${var.external_pool_tag}" in pool["tags"]
    assert pool["labels"] == {"aistrale.io/pool": "gpu"}
    assert pool["taint"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"}]
    variables = _blocks(hcl["modules/gpu-pool/variables.tf"], "variable")
    assert variables["node_type"]["default"].startswith("g1-gpu-rtx6000")
    assert variables["node_count"]["default"] == 2
    # The tag the pool carries is the very one the cluster ignores.
    main = _blocks(hcl["modules/platform/main.tf"], "module")
    assert main["gpu_pool"]["external_pool_tag"] == "${module.cluster.external_pool_tag}"
    assert main["gpu_pool"]["node_type"] == "${var.gpu_node_type}"
    assert main["gpu_pool"]["count"] == "${var.gpu_node_count > 0 ? 1 : 0}"
    platform = _blocks(hcl["modules/platform/variables.tf"], "variable")
    assert platform["gpu_node_type"]["default"] == "g1-gpu-rtx6000-1"


def test_environments(hcl: dict[str, Doc]) -> None:
    tfvars = {env: hcl[f"environments/{env}/terraform.tfvars"] for env in ENVIRONMENTS}
    assert tfvars["production"]["gpu_node_count"] == 2
    assert tfvars["production"]["baseline_min_nodes"] == 3
    assert tfvars["production"]["baseline_max_nodes"] == 10
    assert tfvars["production"]["high_availability"] is True
    assert tfvars["development"]["gpu_node_count"] == 0
    assert sum(vars_["create_dns_zone"] for vars_ in tfvars.values()) == 1
    assert len({vars_["hostname"] for vars_ in tfvars.values()}) == len(ENVIRONMENTS)
    for env, values in tfvars.items():
        assert "0.0.0.0/0" not in values["control_plane_allowed_ipv4"], env


def test_platform_wires_every_building_block(hcl: dict[str, Doc]) -> None:
    main = hcl["modules/platform/main.tf"]
    modules = _blocks(main, "module")
    assert {name: call["source"] for name, call in modules.items()} == PLATFORM_CALLS
    assert modules["cluster"]["firewall_id"] == "${module.firewall.id}"
    assert modules["cluster"]["baseline_node_type"] == "g6-standard-8"
    assert modules["cluster"]["baseline_min_nodes"] == "${var.baseline_min_nodes}"
    assert modules["cluster"]["baseline_max_nodes"] == "${var.baseline_max_nodes}"
    assert modules["gpu_pool"]["firewall_id"] == "${module.firewall.id}"
    # Names per environment: the overlays' AISTRALE_EXPORTS_S3_BUCKET is aistrale-<env>-exports.
    [names] = main["locals"]
    assert names["name"] == "aistrale-${var.environment}"
    assert modules["exports"]["bucket_name"] == "${local.name}-exports"
    assert modules["dns"]["create_zone"] == "${var.create_dns_zone}"
    # Every input the environments give reaches a building block.
    wiring = str([modules, main["locals"]])
    for name in _blocks(hcl["modules/platform/variables.tf"], "variable"):
        assert re.search(rf"\bvar\.{name}\b", wiring), f"var.{name} is not used"


def test_environment_root_is_one_platform_call(hcl: dict[str, Doc], environment: str) -> None:
    root = f"environments/{environment}"
    [(name, call)] = _blocks(hcl[f"{root}/main.tf"], "module").items()
    assert (name, call.pop("source"), call.pop("environment")) == (
        "platform",
        "../../modules/platform",
        environment,
    )
    # The rest is plain pass-through of the root's variables, each set in terraform.tfvars or
    # left to the platform module's default.
    assert call == {key: f"${{var.{key}}}" for key in call}
    variables = _blocks(hcl[f"{root}/variables.tf"], "variable")
    assert set(call) == set(variables)
    tfvars = hcl[f"{root}/terraform.tfvars"]
    assert set(tfvars) <= set(variables)
    assert {key for key, spec in variables.items() if "default" not in spec} <= set(tfvars)
    platform = _blocks(hcl["modules/platform/variables.tf"], "variable")
    assert set(call) <= set(platform)
    required = {key for key, spec in platform.items() if "default" not in spec}
    assert required - {"environment"} <= set(call)
    backend = hcl[f"{root}/versions.tf"]["terraform"][0]["backend"][0]["s3"]
    assert backend["key"] == f"aistrale/{environment}.tfstate"


def test_environment_root_moves_its_old_state(hcl: dict[str, Doc], environment: str) -> None:
    """The modules the root called itself before modules/platform keep their state (no destroy)."""
    moved = hcl[f"environments/{environment}/moved.tf"]["moved"]
    assert {block["from"]: block["to"] for block in moved} == {
        f"${{module.{name}}}": f"${{module.platform.module.{name}}}" for name in PLATFORM_CALLS
    }


def test_environment_outputs_pass_through(hcl: dict[str, Doc], environment: str) -> None:
    platform = _blocks(hcl["modules/platform/outputs.tf"], "output")
    outputs = _blocks(hcl[f"environments/{environment}/outputs.tf"], "output")
    assert set(outputs) == set(platform)
    for name, output in outputs.items():
        assert output["value"] == f"${{module.platform.{name}}}"
        assert output.get("sensitive") == platform[name].get("sensitive"), name
    assert {name for name, output in outputs.items() if output.get("sensitive")} == {
        "kubeconfig",
        "exports_access_key",
        "exports_secret_key",
    }


def test_firewall_drops_inbound_by_default(hcl: dict[str, Doc]) -> None:
    firewall = _resources(hcl["modules/firewall/main.tf"], "linode_firewall")["nodes"]
    assert firewall["inbound_policy"] == "DROP"
    for rule in firewall["inbound"]:
        assert "0.0.0.0/0" not in rule["ipv4"], rule["label"]


def test_exports_bucket_is_private_and_scoped(hcl: dict[str, Doc]) -> None:
    main = hcl["modules/object-storage/main.tf"]
    bucket = _resources(main, "linode_object_storage_bucket")["exports"]
    assert bucket["acl"] == "private"
    assert bucket["lifecycle_rule"][0]["expiration"] == [{"days": "${var.retention_days}"}]
    key = _resources(main, "linode_object_storage_key")["analytics"]
    [access] = key["bucket_access"]
    assert access["bucket_name"] == "${linode_object_storage_bucket.exports.label}"


def test_secrets_stay_out_of_files_and_outputs_are_sensitive(hcl: dict[str, Doc]) -> None:
    secret_names = re.compile(r"kubeconfig|secret|access_key|token|password")
    for path, doc in hcl.items():
        for provider in _blocks(doc, "provider").values():
            assert "token" not in provider, f"{path}: the token comes from LINODE_TOKEN"
        for name, output in _blocks(doc, "output").items():
            if secret_names.search(name):
                assert output.get("sensitive") is True, f"{path}: output {name}"
        if path.endswith(".tfvars"):
            assert not any(secret_names.search(key) for key in doc), path


def test_terraform_fmt(deploy_root: Path) -> None:
    """`terraform fmt -check` where terraform is installed (it is not part of .tools)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        # Not a skip: the hcl2 checks above always run; this formatting check needs terraform.
        warnings.warn("terraform is not installed: `terraform fmt -check` not run", stacklevel=1)
        return
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "terraform"],
        cwd=deploy_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"unformatted: {result.stdout}"
