"""Terraform, parsed with python-hcl2 (no provider download, no plan): the LKE cluster, its
baseline and GPU pools, firewall, exports bucket and DNS, with no secrets in files."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

Doc = dict[str, Any]
ROOT_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "terraform.tfvars")
MODULES = ("lke-cluster", "gpu-pool", "object-storage", "firewall", "dns")


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
    assert len(hcl) >= 5 * 4 + 3 * 5
    assert {path: doc["__error__"] for path, doc in hcl.items() if "__error__" in doc} == {}


def test_layout(hcl: dict[str, Doc]) -> None:
    for module in MODULES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert f"modules/{module}/{name}" in hcl
    for environment in ("development", "staging", "production"):
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
    main = _blocks(hcl["environments/production/main.tf"], "module")
    assert main["gpu_pool"]["external_pool_tag"] == "${module.cluster.external_pool_tag}"


def test_environments(hcl: dict[str, Doc]) -> None:
    tfvars = {
        env: hcl[f"environments/{env}/terraform.tfvars"]
        for env in ("development", "staging", "production")
    }
    assert tfvars["production"]["gpu_node_count"] == 2
    assert tfvars["production"]["baseline_min_nodes"] == 3
    assert tfvars["production"]["baseline_max_nodes"] == 10
    assert tfvars["production"]["high_availability"] is True
    assert tfvars["development"]["gpu_node_count"] == 0
    assert sum(vars_["create_dns_zone"] for vars_ in tfvars.values()) == 1
    for env, values in tfvars.items():
        assert "0.0.0.0/0" not in values["control_plane_allowed_ipv4"], env
        modules = _blocks(hcl[f"environments/{env}/main.tf"], "module")
        assert set(modules) == {"firewall", "cluster", "gpu_pool", "exports", "dns"}
        assert modules["cluster"]["firewall_id"] == "${module.firewall.id}"
        assert modules["cluster"]["baseline_node_type"] == "g6-standard-8"
        backend = hcl[f"environments/{env}/versions.tf"]["terraform"][0]["backend"][0]["s3"]
        assert backend["key"] == f"aistrale/{env}.tfstate"


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
