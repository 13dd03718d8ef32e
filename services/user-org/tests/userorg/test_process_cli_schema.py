"""The service as a real process on a real port (Postgres, RabbitMQ): the `aistrale` CLI
drives it, and schemathesis fuzzes its OpenAPI schema (no 5xx, no schema violations)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.tcp_proxy import free_port
from aistrale_testkit.userorg import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
)
from aistrale_userorg.admin_cli.main import app as cli


@pytest.fixture(scope="module")
def server(
    infra: Infra, create_pg_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("process")
    port = free_port()
    env = {
        "AISTRALE_ENVIRONMENT": "test",
        "AISTRALE_PORT": str(port),
        "AISTRALE_DATA_DIR": str(data_dir),
        "AISTRALE_USER_ORG_DATABASE_URL": create_pg_database("process"),
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_CONTROL_EXCHANGE": infra.name("control"),
        "AISTRALE_USAGE_EXCHANGE": infra.name("usage"),
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix("proc"),
        "AISTRALE_JWT_SECRET": secrets.token_urlsafe(32),
        "AISTRALE_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "AISTRALE_ADMIN_EMAIL": ADMIN_EMAIL,
        "AISTRALE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "AISTRALE_BCRYPT_ROUNDS": "4",
        "AISTRALE_ACCESS_TOKEN_TTL_S": "3600",
        "AISTRALE_LOG_LEVEL": "WARNING",
        # No durable queue of its own on the shared broker (covered in process elsewhere).
        "AISTRALE_LAST_USED_CONSUMER": "false",
    }
    argv = python_module_argv("aistrale-user-org", "serve")
    with service_process(
        argv, port, env, log_path=data_dir / "user-org.log", ready_path="/ready"
    ) as base:
        yield base


@pytest.fixture(scope="module")
def admin_headers(server: str) -> dict[str, str]:
    form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    token = httpx.post(f"{server}/admin/v1/auth/token", data=form).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


def test_cli_common_tasks(server: str, tmp_path: Path) -> None:
    runner = CliRunner()
    # The port alone, as after `make run`: the CLI builds the local URL from it.
    port = server.rsplit(":", 1)[1]
    env = {"AISTRALE_PORT": port, "AISTRALE_CLI_HOME": str(tmp_path), "COLUMNS": "200"}

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    assert "Not signed in" in str(runner.invoke(cli, ["whoami"], env=env).exception)
    run("login", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    assert (tmp_path / "session.json").stat().st_mode & 0o777 == 0o600
    assert ADMIN_EMAIL in run("whoami")
    created = run("orgs", "create", "cli-org")
    org_id = re.search(r"id\s+│\s+([0-9a-f-]{36})", created)
    assert org_id, created
    org = org_id.group(1)
    assert "cli-org" in run("orgs", "list")
    key_out = run("keys", "create", org, "ci-key", "--rpm", "60", "--model", "gemma-3-270m")
    plaintext = re.search(r"(sk-[A-Za-z0-9_-]{43,})", key_out)
    assert plaintext, key_out
    listed = run("keys", "list", org)
    assert "ci-key" in listed and plaintext.group(1) not in listed
    rows = json.loads(run("keys", "list", org, "--json"))
    assert [r["name"] for r in rows] == ["ci-key"] and "key" not in rows[0]
    assert [r["id"] for r in json.loads(run("orgs", "list", "--json"))] == [org]
    assert "25.5" in run("budgets", "set", org, "25.50", "--period", "month")
    assert "25500000" in run("budgets", "get", org)
    invited = run("members", "add", org, "dev@cli.test", "member")
    token = re.search(r"(inv-[A-Za-z0-9_-]{43,})", invited)
    assert token, invited
    assert "dev@cli.test" in run("members", "accept", token.group(1), "--password", "dev-password")
    assert "dev@cli.test" in run("members", "list", org)
    members = json.loads(run("members", "list", org, "--json"))
    assert "dev@cli.test" in [m["email"] for m in members]
    assert "org.create" in run("audit", "list", "--org", org)
    audit = json.loads(run("audit", "list", "--org", org, "--json"))
    assert "org.create" in [entry["action"] for entry in audit]
    assert "True" in run("audit", "verify")
    _prompts_and_guardrails(run, org)
    _tags(run, org)
    _piped_tables_keep_whole_ids(env, org, rows[0]["id"])
    run("logout")
    assert not (tmp_path / "session.json").exists()


def _prompts_and_guardrails(run: Callable[..., str], org: str) -> None:
    created = run(
        "prompts", "create", org, "greeter", "-m", "system=Greet {{name}}", "-m", "user=hi"
    )
    prompt_id = re.search(r"id\s+│\s+([0-9a-f-]{36})", created)
    assert prompt_id and "name" in created, created
    pid = prompt_id.group(1)
    assert "greeter" in run("prompts", "list", org)
    assert "2" in run("prompts", "update", org, pid, "-m", "system=Hello {{who}}")
    first = json.loads(run("prompts", "show", org, pid, "--version", "1"))
    assert first["messages"][0]["content"] == "Greet {{name}}" and first["latest_version"] == 2
    run("prompts", "archive", org, pid)
    assert json.loads(run("prompts", "list", org, "--json")) == []
    shown = json.loads(run("guardrails", "set", org, "block", "--entity", "US_SSN"))
    assert shown["pii"] == {"action": "block", "entities": ["US_SSN"], "outputs": False}
    assert json.loads(run("guardrails", "get", org)) == shown


def _tags(run: Callable[..., str], org: str) -> None:
    """`--tag` where keys are created, `keys tags` to set them (none: removed)."""
    run("keys", "create", org, "tagged", "--tag", "premium", "--tag", "beta")
    tagged = next(
        r for r in json.loads(run("keys", "list", org, "--json")) if r["name"] == "tagged"
    )
    assert tagged["tags"] == ["beta", "premium"]
    assert "gold" in run("keys", "tags", org, tagged["id"], "--tag", "gold")
    run("keys", "tags", org, tagged["id"])
    shown = json.loads(run("keys", "list", org, "--json"))
    assert next(r["tags"] for r in shown if r["name"] == "tagged") == []
    assert "premium" in run("orgs", "update", org, "--tag", "premium")
    assert json.loads(run("orgs", "list", "--json"))[0]["tags"] == ["premium"]
    run("orgs", "update", org, "--clear-tags")
    assert json.loads(run("orgs", "list", "--json"))[0]["tags"] == []


def _piped_tables_keep_whole_ids(env: dict[str, str], org: str, key_id: str) -> None:
    """`aistrale keys list | grep` in an 80-column terminal: every id whole on its line."""
    argv = python_module_argv("aistrale", "keys", "list", org)
    narrow = {**os.environ, **env, "COLUMNS": "80"}
    out = subprocess.run(argv, env=narrow, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(rf"\b{key_id}\b", out.stdout), out.stdout


def test_cli_says_one_line_when_nothing_answers(tmp_path: Path) -> None:
    env = {**os.environ, "AISTRALE_PORT": str(free_port()), "AISTRALE_CLI_HOME": str(tmp_path)}
    env.pop("AISTRALE_URL", None)
    argv = python_module_argv("aistrale", "login", "--email", "a@b.c", "--password", "x")
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) == 1, lines  # no traceback
    assert f"nothing answers at http://127.0.0.1:{env['AISTRALE_PORT']}" in lines[0]


def test_openapi_schema_holds(server: str, admin_headers: dict[str, str]) -> None:
    """Every operation, positive and negative examples: no 5xx, answers match the schema."""
    schema = schemathesis.openapi.from_url(f"{server}/admin/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def holds(case: schemathesis.Case[Any]) -> None:
            # On the case (not the call) so that the missing-auth check can take it away.
            case.headers["Authorization"] = admin_headers["authorization"]
            case.call_and_validate()

        try:
            holds()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group
            failures.append(f"{operation.label}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)
