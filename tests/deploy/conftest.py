"""Offline validation of what operators deploy: charts, overlays, Argo CD, Terraform, monitoring.

Every tool comes from `.tools/` (installed by `bash infra/validation/install-tools.sh`, which
`make test` runs first). A missing tool fails the suite: nothing here skips or downloads.

Everything is rendered once per session (`deploy_renders`); the test modules assert on the
rendered documents and hand the files to the validators in batches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = ROOT / ".tools"
INSTALL_HINT = "run `bash infra/validation/install-tools.sh` (`make test` does it first)"
KUBE_VERSION = "1.32.0"

# The three services are releases of one chart, each named by its services/<service>.yaml.
SERVICE_CHART = "aistrale-service"
SERVICE_CHARTS = ("api-router", "user-org", "analytics")
CHARTS = (*SERVICE_CHARTS, "model-backend")
ENVIRONMENTS = ("development", "staging", "production")
NAMESPACES = {
    "development": "aistrale-dev",
    "staging": "aistrale-staging",
    "production": "aistrale",
}

# API groups of the custom resources we ship; their documents are checked for required fields
# (custom_resources.py) instead of by kubernetes-validate, which has no schema for them.
CUSTOM_GROUPS = frozenset(
    {
        "monitoring.coreos.com",
        "bitnami.com",
        "argoproj.io",
        "cert-manager.io",
        "postgresql.cnpg.io",
        "rabbitmq.com",
    }
)

Doc = dict[str, Any]


def api_group(doc: Doc) -> str:
    api_version = str(doc.get("apiVersion", ""))
    return api_version.split("/")[0] if "/" in api_version else ""


def is_custom(doc: Doc) -> bool:
    return api_group(doc) in CUSTOM_GROUPS


@dataclass(frozen=True)
class Tools:
    """The validation binaries, run with a private, empty Helm home (no repos, no network)."""

    bin_dir: Path
    python: Path
    home: Path

    def path(self, name: str) -> Path:
        return self.bin_dir / name

    def run(
        self, tool: str, *args: str | Path, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        exe = self.python if tool == "python" else self.path(tool)
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
            "KUBECONFIG": str(self.home / "no-kubeconfig"),
        }
        result = subprocess.run(
            [str(exe), *map(str, args)],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
            timeout=300,
        )
        if check and result.returncode != 0:
            command = " ".join(map(str, [tool, *args]))
            pytest.fail(f"`{command}` exited {result.returncode}:\n{result.stderr}{result.stdout}")
        return result


@dataclass
class Render:
    """One rendered scenario: a chart with a ci values file, an overlay, an Argo CD environment."""

    name: str
    path: Path
    docs: list[Doc] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Doc]:
        return [doc for doc in self.docs if doc.get("kind") == kind]

    def get(self, kind: str, name: str) -> Doc:
        found = [doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[Doc]:
        kinds = {"Deployment", "StatefulSet", "Job"}
        return [doc for doc in self.docs if doc.get("kind") in kinds]


def load_docs(text: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def chart_dir(chart: str) -> Path:
    """Where a chart (or a service's release of the service chart) lives."""
    return ROOT / "charts" / (SERVICE_CHART if chart in SERVICE_CHARTS else chart)


def chart_values(chart: str, values: Path) -> list[str | Path]:
    """`-f` arguments for a scenario: a service's own file first, then the scenario."""
    own = [ROOT / "charts" / SERVICE_CHART / "services" / f"{chart}.yaml"]
    files = [*(own if chart in SERVICE_CHARTS else []), values]
    return [arg for path in files for arg in ("-f", path)]


def chart_scenarios(chart: str) -> list[Path]:
    return sorted((chart_dir(chart) / "ci").glob("*-values.yaml"))


@pytest.fixture(scope="session")
def deploy_tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    tools = Tools(
        bin_dir=TOOLS_DIR / "bin",
        python=TOOLS_DIR / "venv" / "bin" / "python",
        home=tmp_path_factory.mktemp("helm-home"),
    )
    needed = ["helm", "kubectl", "promtool", "kubernetes-validate", "checkov"]
    missing = [name for name in needed if not os.access(tools.path(name), os.X_OK)]
    if not os.access(tools.python, os.X_OK):
        missing.append("venv/bin/python")
    if missing:
        pytest.fail(f"validation tools missing from .tools: {', '.join(missing)}; {INSTALL_HINT}")
    return tools


@pytest.fixture(scope="session")
def deploy_umbrella_dir(deploy_tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of charts/ whose umbrella chart has its file:// dependencies built (offline)."""
    copy = tmp_path_factory.mktemp("charts") / "charts"
    shutil.copytree(ROOT / "charts", copy, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    deploy_tools.run("helm", "dependency", "build", copy / "aistrale")
    return copy / "aistrale"


def _render_all(tools: Tools, umbrella: Path, out: Path) -> dict[str, Render]:
    renders: dict[str, Render] = {}

    def keep(name: str, text: str) -> None:
        path = out / (name.replace("/", "__") + ".yaml")
        path.write_text(text)
        renders[name] = Render(name, path, load_docs(text))

    for chart in CHARTS:
        for values in chart_scenarios(chart):
            scenario = values.name.removesuffix("-values.yaml")
            args: list[str | Path] = [
                *("template", chart, chart_dir(chart)),
                *chart_values(chart, values),
                *("-n", "aistrale"),
            ]
            keep(f"chart/{chart}/{scenario}", tools.run("helm", *args).stdout)
    for values in sorted((umbrella / "ci").glob("*-values.yaml")):
        scenario = values.name.removesuffix("-values.yaml")
        args = ["template", "aistrale", umbrella, "-f", values, "-n", "aistrale"]
        keep(f"chart/aistrale/{scenario}", tools.run("helm", *args).stdout)

    helm = str(tools.path("helm"))
    for env in ENVIRONMENTS:
        overlay = f"kustomize/overlays/{env}"
        keep(
            f"overlay/{env}",
            tools.run(
                *("kubectl", "kustomize", "--enable-helm", "--helm-command", helm),
                *("--load-restrictor", "LoadRestrictionsNone", overlay),
            ).stdout,
        )
        keep(f"datastores/{env}", tools.run("kubectl", "kustomize", f"{overlay}/datastores").stdout)
        keep(
            f"argocd/{env}", tools.run("kubectl", "kustomize", f"argocd/environments/{env}").stdout
        )
    for path in ("kustomize/platform", "infra/grafana", "infra/prometheus"):
        keep(path, tools.run("kubectl", "kustomize", path).stdout)

    # The vLLM pools exactly as each environment's Argo CD Application asks for them.
    for env in ENVIRONMENTS:
        for app in renders[f"argocd/{env}"].of_kind("Application"):
            if app["spec"]["source"].get("path") != "charts/model-backend":
                continue
            helm_spec = app["spec"]["source"]["helm"]
            values = out / f"model-backend-{env}-values.yaml"
            values.write_text(yaml.safe_dump(helm_spec["valuesObject"]))
            args = [
                "template",
                helm_spec["releaseName"],
                ROOT / "charts/model-backend",
                "-f",
                values,
                "-n",
                NAMESPACES[env],
            ]
            keep(f"argocd-app/{env}/model-backend", tools.run("helm", *args).stdout)
    return renders


@pytest.fixture(scope="session")
def deploy_renders(
    deploy_tools: Tools, deploy_umbrella_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Render]:
    return _render_all(deploy_tools, deploy_umbrella_dir, tmp_path_factory.mktemp("rendered"))


@pytest.fixture(scope="session")
def deploy_kubernetes_validation(
    deploy_tools: Tools, deploy_renders: dict[str, Render], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """kubernetes-validate --strict once over every built-in object of every scenario.

    Returns the messages per scenario name (empty when the scenario is valid).
    """
    out = tmp_path_factory.mktemp("builtin")
    files: dict[str, str] = {}
    for name, render in deploy_renders.items():
        builtin = [doc for doc in render.docs if not is_custom(doc)]
        if not builtin:
            continue
        path = out / (name.replace("/", "__") + ".yaml")
        path.write_text(yaml.safe_dump_all(builtin))
        files[str(path)] = name
    result = deploy_tools.run(
        "kubernetes-validate", "--strict", "-k", KUBE_VERSION, "--quiet", *files, check=False
    )
    messages: dict[str, list[str]] = {name: [] for name in deploy_renders}
    for line in (result.stdout + result.stderr).splitlines():
        hits = [name for path, name in files.items() if f" {path} " in f"{line} "]
        if hits:
            messages[hits[0]].append(line)
        elif line.strip():
            messages.setdefault("<unattributed>", []).append(line)
    if result.returncode != 0 and not any(messages.values()):
        messages["<unattributed>"] = [f"exit {result.returncode} without messages"]
    return messages


class ToolsPython:
    """Runs a helper script of infra/validation/ in the tools venv and decodes its JSON output."""

    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    def __call__(self, script: str, *args: str, stdin: Any = None) -> Any:
        payload = None if stdin is None else json.dumps(stdin)
        helper = ROOT / "infra" / "validation" / script
        return json.loads(self.tools.run("python", helper, *args, stdin=payload).stdout)


@pytest.fixture(scope="session")
def deploy_tools_python(deploy_tools: Tools) -> ToolsPython:
    return ToolsPython(deploy_tools)


@pytest.fixture(scope="session")
def deploy_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def deploy_chart_args() -> Callable[[str, Path], list[str | Path]]:
    """`helm lint|template` arguments (chart directory and -f files) for a chart scenario."""
    return lambda chart, values: [chart_dir(chart), *chart_values(chart, values)]


@pytest.fixture(scope="session")
def deploy_namespaces() -> dict[str, str]:
    return dict(NAMESPACES)


@pytest.fixture(scope="session")
def deploy_is_custom() -> Callable[[Doc], bool]:
    return is_custom


def render_names() -> list[str]:
    """The scenario names _render_all produces, known before anything is rendered."""
    names = [
        f"chart/{chart}/{values.name.removesuffix('-values.yaml')}"
        for chart in (*CHARTS, "aistrale")
        for values in chart_scenarios(chart)
    ]
    for env in ENVIRONMENTS:
        names += [f"overlay/{env}", f"datastores/{env}", f"argocd/{env}"]
        if env != "development":
            names.append(f"argocd-app/{env}/model-backend")
    return [*names, "kustomize/platform", "infra/grafana", "infra/prometheus"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize by fixture name, so test modules need no imports from here."""
    scenarios = [(chart, path) for chart in CHARTS for path in chart_scenarios(chart)]
    params: dict[str, tuple[list[Any], list[str]]] = {
        "chart": (list(CHARTS), list(CHARTS)),
        "service_chart": (list(SERVICE_CHARTS), list(SERVICE_CHARTS)),
        "environment": (list(ENVIRONMENTS), list(ENVIRONMENTS)),
        "chart_scenario": (scenarios, [f"{chart}/{path.name}" for chart, path in scenarios]),
        "render_name": (render_names(), render_names()),
    }
    for name, (values, ids) in params.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, values, ids=ids)


def _dig(doc: Doc, dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _need(doc: Doc, *paths: str) -> list[str]:
    return [f"missing {path}" for path in paths if _dig(doc, path) in (None, "", [], {})]


def _application(doc: Doc) -> list[str]:
    problems = _need(doc, "spec.project", "spec.destination.namespace", "spec.destination.server")
    sources = doc["spec"].get("sources") or [doc["spec"].get("source") or {}]
    for source in sources:
        problems += _need(source, "repoURL", "targetRevision")
        if not (source.get("path") or source.get("chart")):
            problems.append("a source needs path or chart")
    return problems


def _prometheus_rule(doc: Doc) -> list[str]:
    problems = _need(doc, "spec.groups")
    for group in doc["spec"].get("groups") or []:
        problems += _need(group, "name", "rules")
        for rule in group.get("rules") or []:
            if not rule.get("expr") or not (rule.get("alert") or rule.get("record")):
                problems.append(f"rule without expr/alert/record in {group.get('name')}")
    return problems


def _service_monitor(doc: Doc) -> list[str]:
    problems = _need(doc, "spec.selector.matchLabels", "spec.endpoints")
    for endpoint in doc["spec"].get("endpoints") or []:
        problems += _need(endpoint, "port", "path")
    return problems


# Required fields of each custom resource we ship, from the CRDs' schemas (subset we rely on).
CUSTOM_CHECKS: dict[str, Callable[[Doc], list[str]]] = {
    "Application": _application,
    "AppProject": lambda d: _need(d, "spec.sourceRepos", "spec.destinations"),
    "PrometheusRule": _prometheus_rule,
    "ServiceMonitor": _service_monitor,
    "SealedSecret": lambda d: _need(d, "spec.encryptedData", "spec.template.metadata.name"),
    "ClusterIssuer": lambda d: _need(
        d,
        "spec.acme.server",
        "spec.acme.email",
        "spec.acme.privateKeySecretRef.name",
        "spec.acme.solvers",
    ),
    "Cluster": lambda d: _need(d, "spec.instances", "spec.storage.size", "spec.imageName"),
    "Database": lambda d: _need(d, "spec.name", "spec.owner", "spec.cluster.name"),
    "RabbitmqCluster": lambda d: _need(d, "spec.replicas"),
}


def custom_resource_problems(doc: Doc) -> list[str]:
    check = CUSTOM_CHECKS.get(str(doc.get("kind")))
    if check is None:
        return [f"no required-field check for custom kind {doc.get('kind')}"]
    return _need(doc, "metadata.name") + check(doc)


@pytest.fixture(scope="session")
def deploy_custom_resource_problems() -> Callable[[Doc], list[str]]:
    return custom_resource_problems
