"""The deployment guide and the decision records exist and point at files that exist."""

from __future__ import annotations

import re
from pathlib import Path


def test_deploy_guide_walks_from_an_empty_account(deploy_root: Path) -> None:
    text = (deploy_root / "docs/deploy.md").read_text()
    for step in ("Terraform state", "Argo CD", "Secrets", "DNS", "First request", "Day 2"):
        assert step in text, step
    for command in (
        "terraform apply",
        "kubectl apply -n argocd -f argocd/bootstrap/",
        "kubeseal",
        "/v1/chat/completions",
    ):
        assert command in text, command


def test_paths_named_in_the_docs_exist(deploy_root: Path) -> None:
    docs = [
        deploy_root / "docs/deploy.md",
        *sorted((deploy_root / "docs/decisions").glob("k8s-*.md")),
    ]
    assert len(docs) >= 4
    pattern = re.compile(r"`((?:charts|kustomize|argocd|terraform|infra|docs)/[\w./-]+?)`")
    for doc in docs:
        for path in pattern.findall(doc.read_text()):
            if "<" in path or "*" in path:
                continue
            assert (deploy_root / path).exists(), f"{doc.name} names {path}, which does not exist"
