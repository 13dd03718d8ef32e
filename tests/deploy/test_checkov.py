"""checkov, once, over everything operators deploy: every rendered scenario (charts, overlays,
data stores, Argo CD, dashboards, rules) and the Terraform modules and roots, offline."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

Doc = dict[str, Any]
CONFIG = "infra/validation/checkov.yaml"
# A positive control for the secrets scan, which prints no report at all when it finds nothing:
# AWS's documented example key (not a credential) must be reported, and nothing else may be.
CANARY = """apiVersion: v1
kind: ConfigMap
metadata:
  name: secrets-scan-canary
  namespace: canary
data:
  aws_access_key_id: AKIAIOSFODNN7EXAMPLE
"""


def _reports(stdout: str) -> list[Doc]:
    """checkov prints one JSON document (or a list of them) per framework run."""
    decoder, reports, index = json.JSONDecoder(), [], 0
    while index < len(stdout):
        if stdout[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(stdout, index)
        reports.extend(value if isinstance(value, list) else [value])
    return reports


@pytest.fixture(scope="module")
def checkov_reports(
    deploy_tools: Any,
    deploy_renders: dict[str, Any],
    deploy_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Doc]:
    scan = tmp_path_factory.mktemp("checkov")
    for render in deploy_renders.values():
        shutil.copy(render.path, scan / render.path.name)
    shutil.copytree(deploy_root / "terraform", scan / "terraform")
    (scan / "canary.yaml").write_text(CANARY)
    result = deploy_tools.run(
        "checkov", "--config-file", deploy_root / CONFIG, "-d", scan, check=False
    )
    assert result.returncode in (0, 1), result.stderr
    reports = {report["check_type"]: report for report in _reports(result.stdout)}
    assert reports, f"checkov printed no report:\n{result.stderr}"
    return reports


def test_config_is_offline_and_explains_every_skip(deploy_root: Path) -> None:
    text = (deploy_root / CONFIG).read_text()
    config = yaml.safe_load(text)
    assert config["skip-download"] is True
    assert set(config["framework"]) == {"kubernetes", "terraform", "secrets"}
    lines = text.splitlines()
    for check in config["skip-check"]:
        at = lines.index(f"  - {check}")
        comment: list[str] = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            comment.insert(0, line)
        assert comment and comment[0].strip().startswith(f"# {check} ("), f"{check}: no reason"
        assert len(" ".join(comment)) > 120, f"{check}: explain the decision"


def _failures(report: Doc) -> list[str]:
    return [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]


@pytest.mark.parametrize("framework", ["kubernetes", "terraform"])
def test_no_failed_checks(framework: str, checkov_reports: dict[str, Doc]) -> None:
    report = checkov_reports[framework]
    assert _failures(report) == []
    assert report["summary"]["parsing_errors"] == 0


def test_no_secrets_but_the_canary(checkov_reports: dict[str, Doc]) -> None:
    failures = _failures(checkov_reports["secrets"])
    assert [f for f in failures if not f.endswith("(/canary.yaml)")] == []
    assert failures, "the secrets scan did not catch its canary: it did not run"


def test_checkov_saw_everything(checkov_reports: dict[str, Doc]) -> None:
    assert checkov_reports["kubernetes"]["summary"]["resource_count"] >= 150
    assert checkov_reports["kubernetes"]["summary"]["passed"] >= 1000
    assert checkov_reports["terraform"]["summary"]["resource_count"] >= 10
    version = checkov_reports["kubernetes"]["summary"]["checkov_version"]
    assert re.match(r"^3\.", version), version
