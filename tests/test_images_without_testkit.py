"""No service image can contain the test doubles: each Dockerfile installs only its own
package's runtime closure from uv.lock (`uv sync --no-dev --package <service>`), and that
closure must not reach the testkit or the test tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    "api-router": "aistrale-api-router",
    "user-org": "aistrale-user-org",
    "analytics": "aistrale-analytics",
}
TEST_ONLY = {"aistrale-testkit", "pytest", "testcontainers", "openai"}


def runtime_closure(package: str) -> set[str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    graph = {
        p["name"]: [d["name"] for d in p.get("dependencies", [])]
        + [d["name"] for deps in p.get("optional-dependencies", {}).values() for d in deps]
        for p in lock["package"]
    }
    seen: set[str] = set()
    todo = [package]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    return seen


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_image_installs_only_its_runtime_closure(service: str) -> None:
    dockerfile = (ROOT / "services" / service / "Dockerfile").read_text()
    sync = re.search(r"uv sync ([^\n]+)", dockerfile)
    assert sync is not None
    assert "--no-dev" in sync[1]
    assert f"--package {SERVICES[service]}" in sync[1]
    assert runtime_closure(SERVICES[service]) & TEST_ONLY == set()


def test_the_testkit_is_in_the_lock_as_a_workspace_member() -> None:
    # Guards the test above against passing because the name is spelled differently.
    assert "aistrale-testkit" in runtime_closure("aistrale-testkit")
    assert {"aistrale-api-router", "pytest", "testcontainers"} <= runtime_closure(
        "aistrale-testkit"
    )
