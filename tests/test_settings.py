"""Every AISTRALE_* name the repository sets or documents is read by something, and each
process refuses the names it does not read (aistrale_common.settings)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.settings import (
    TOOLING_VARIABLES,
    UnknownVariableError,
    known_variables,
    refuse_unknown_variables,
    variable_names,
)
from aistrale_platform.settings import Settings as PlatformSettings
from aistrale_router.settings import Settings as RouterSettings
from aistrale_testkit.processes import python_module_argv
from aistrale_userorg.admin_cli.client import CliSettings
from aistrale_userorg.settings import Settings as UserOrgSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = (RouterSettings, UserOrgSettings, AnalyticsSettings, PlatformSettings)
# A catalog's `api_key_env` names a platform key: the router reads it by that name.
CATALOG_KEY = re.compile(r"""api_key_env["']?\s*[:=]\s*["']?(AISTRALE_[A-Z0-9_]+)""")
NAME = re.compile(r"\bAISTRALE_[A-Z0-9_]*[A-Z0-9]\b")
SCANNED = (
    "services",
    "charts",
    "kustomize",
    "argocd",
    "infra",
    "docs",
    "tests",
    "bench",
    "terraform",
)
# These two spell unknown names on purpose.
DELIBERATE = {"tests/test_settings.py", "services/common/tests/test_unknown_settings.py"}
SUFFIXES = {".py", ".yaml", ".yml", ".md", ".sh", ".tpl", ".json", ".env", ".txt", ".tf", ""}


def _repository_names() -> tuple[dict[str, set[str]], set[str]]:
    found: dict[str, set[str]] = {}
    catalog_keys: set[str] = set()
    files = [ROOT / "README.md", ROOT / "Makefile"]
    for top in SCANNED:
        files += [p for p in (ROOT / top).rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    for path in files:
        relative = str(path.relative_to(ROOT))
        if relative in DELIBERATE or "__pycache__" in path.parts or "/charts/charts/" in relative:
            continue
        text = path.read_text(errors="replace")
        catalog_keys.update(CATALOG_KEY.findall(text))
        for name in NAME.findall(text):
            found.setdefault(name, set()).add(relative)
    return found, catalog_keys


def test_every_name_in_the_repository_is_read_by_something() -> None:
    found, catalog_keys = _repository_names()
    assert "AISTRALE_TEST_OPENAI_KEY" in catalog_keys  # the scan sees the catalogs' key names
    known = known_variables([*SERVICES, CliSettings], catalog_keys)
    unknown = {name: sorted(where) for name, where in found.items()}
    unknown = {name: where for name, where in unknown.items() if name not in known}
    assert unknown == {}


def test_tooling_names_are_read_where_they_are_declared() -> None:
    for name, reader in TOOLING_VARIABLES.items():
        assert name in (ROOT / reader).read_text(), f"{reader} does not read {name}"
    assert variable_names(CliSettings) - {"AISTRALE_PORT"} <= set(TOOLING_VARIABLES)


def _run(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AISTRALE_")}
    full = {**base, "AISTRALE_DATA_DIR": str(tmp_path / "data"), **env}
    argv = python_module_argv(script, "migrate")
    return subprocess.run(argv, env=full, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("classes", "env", "hint"),
    [
        ((RouterSettings,), {"AISTRALE_USER_ORG_ULR": "x"}, "AISTRALE_USER_ORG_URL"),
        # Another service's own setting is unknown to a process that runs only this one.
        ((AnalyticsSettings,), {"AISTRALE_MODELS_FILE": "x"}, None),
        ((UserOrgSettings,), {"AISTRALE_CREDENTIALS_KEY": "k"}, "AISTRALE_CREDENTIALS_KEK"),
        ((AnalyticsSettings,), {"AISTRALE_S3_BUCKET": "b"}, "AISTRALE_EXPORTS_S3_BUCKET"),
        (SERVICES, {"AISTRALE_LOCAL_MODLE": "0"}, "AISTRALE_LOCAL_MODEL"),
    ],
)
def test_each_service_refuses_a_name_it_does_not_read(
    classes: tuple[type[BaseSettings], ...], env: dict[str, str], hint: str | None
) -> None:
    [name] = env
    with pytest.raises(UnknownVariableError) as caught:
        refuse_unknown_variables(env, classes)
    assert name in str(caught.value)
    if hint:
        assert f"{name} (did you mean {hint}?)" in str(caught.value)


@pytest.mark.parametrize("script", ["aistrale-api-router", "aistrale-platform"])
def test_a_process_refuses_to_start_before_anything_runs(script: str, tmp_path: Path) -> None:
    result = _run(script, {"AISTRALE_REDIS_ULR": "redis://x"}, tmp_path)
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert line == (
        f"{script}: unknown setting(s) in the environment, nothing in this process reads: "
        "AISTRALE_REDIS_ULR (did you mean AISTRALE_REDIS_URL?)"
    )
    assert not (tmp_path / "data").exists(), "refused before migrating"


def test_a_missing_production_secret_is_one_line_without_values(tmp_path: Path) -> None:
    env = {"AISTRALE_ENVIRONMENT": "production", "AISTRALE_SERVICE_TOKEN": "changeme"}
    result = _run("aistrale-api-router", env, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "changeme" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "aistrale-api-router: invalid settings: settings: "
        "Value error, AISTRALE_SERVICE_TOKEN must be a real secret in production"
    )


def test_the_single_process_platform_accepts_every_services_names(tmp_path: Path) -> None:
    env = {
        "AISTRALE_LOCAL_MODEL": "0",  # the platform's
        "AISTRALE_USER_ORG_URL": "http://127.0.0.1:1",  # the router's
        "AISTRALE_BCRYPT_ROUNDS": "4",  # user-org's
        "AISTRALE_EXPORTS_MAX_ROWS": "10",  # analytics'
        "AISTRALE_CLI_HOME": str(tmp_path / "cli"),  # the tooling's
    }
    result = _run("aistrale-platform", env, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("settings_class", "needed"),
    [
        (RouterSettings, {"service_token"}),
        (AnalyticsSettings, {"jwt_secret", "service_token"}),
        (UserOrgSettings, {"service_token", "jwt_secret"}),
    ],
)
def test_production_demands_only_the_secrets_a_service_uses(
    settings_class: type[BaseSettings], needed: set[str]
) -> None:
    real = "s" * 32
    build: Any = settings_class  # keyword arguments are the fields
    extra = {"credentials_kek": "A" * 43 + "="} if settings_class is UserOrgSettings else {}
    secrets = dict.fromkeys(needed, real)
    build(environment="production", **secrets, **extra)
    for missing in needed:
        with pytest.raises(ValueError, match=f"AISTRALE_{missing.upper()} must be a real secret"):
            build(environment="production", **{**secrets, missing: "changeme"}, **extra)
