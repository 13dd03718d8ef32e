"""The operator's path with real processes: keys stored by a user-org running on the old
KEK, `aistrale-user-org rotate-credentials-kek`, then a user-org holding only the new KEK
serves them. No log line of any of these processes carries a key, not even at DEBUG."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from aistrale_common.crypto import Kek
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.tcp_proxy import free_port
from aistrale_testkit.userorg import ADMIN_EMAIL, ADMIN_PASSWORD

KEY = "sk-ant-api03-process-test-" + secrets.token_urlsafe(24)


def _env(infra: Infra, tmp: Path, database_url: str, kek: str) -> dict[str, str]:
    return {
        "AISTRALE_ENVIRONMENT": "test",
        "AISTRALE_DATA_DIR": str(tmp),
        "AISTRALE_USER_ORG_DATABASE_URL": database_url,
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_CONTROL_EXCHANGE": infra.name("control"),
        "AISTRALE_USAGE_EXCHANGE": infra.name("usage"),
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix("byok-proc"),
        "AISTRALE_LAST_USED_CONSUMER": "false",
        "AISTRALE_JWT_SECRET": secrets.token_urlsafe(32),
        "AISTRALE_SERVICE_TOKEN": "byok-process-service-token",
        "AISTRALE_ADMIN_EMAIL": ADMIN_EMAIL,
        "AISTRALE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "AISTRALE_BCRYPT_ROUNDS": "4",
        "AISTRALE_LOG_LEVEL": "DEBUG",
        "AISTRALE_CREDENTIALS_KEK": kek,
    }


def _serve() -> tuple[list[str], int]:
    port = free_port()
    return python_module_argv("aistrale-user-org", "serve", "--port", str(port)), port


def _internal(base: str, org_id: str) -> httpx.Response:
    return httpx.get(
        f"{base}/internal/v1/orgs/{org_id}/provider-credentials/anthropic",
        headers={"authorization": "Bearer byok-process-service-token"},
    )


def test_rotate_with_the_cli_between_two_deployments(
    infra: Infra, create_pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    old, new = Kek.generate_text(), Kek.generate_text()
    database_url = create_pg_database("byok_process")
    env = _env(infra, tmp_path, database_url, old)
    argv, port = _serve()
    with service_process(argv, port, env, log_path=tmp_path / "old.log", ready_path="/ready") as b:
        form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        token = httpx.post(f"{b}/admin/v1/auth/token", data=form).json()["access_token"]
        admin = {"authorization": f"Bearer {token}"}
        org_id = httpx.post(f"{b}/admin/v1/orgs", json={"name": "p"}, headers=admin).json()["id"]
        url = f"{b}/admin/v1/orgs/{org_id}/provider-credentials"
        put = httpx.put(f"{url}/anthropic", json={"api_key": KEY}, headers=admin)
        assert put.status_code == 201, put.text
        # Refused requests that carry the key in their body: logged (as errors), key not.
        bad = httpx.put(f"{url}/anthropic", json={"api_key": f"{KEY} x"}, headers=admin)
        assert bad.status_code == 400
        assert httpx.put(f"{url}/nope", json={"api_key": KEY}, headers=admin).status_code == 400
        assert _internal(b, org_id).json()["api_key"] == KEY

    cli_env = {
        **env,
        "AISTRALE_CREDENTIALS_KEK": new,
        "AISTRALE_CREDENTIALS_KEK_PREVIOUS": old,
    }
    cli = python_module_argv("aistrale-user-org", "rotate-credentials-kek")
    done = subprocess.run(cli, env=cli_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rotated"] == 1

    env = {**env, "AISTRALE_CREDENTIALS_KEK": new}  # the old KEK is gone
    argv, port = _serve()
    with service_process(argv, port, env, log_path=tmp_path / "new.log", ready_path="/ready") as b:
        assert _internal(b, org_id).json()["api_key"] == KEY

    old_log = (tmp_path / "old.log").read_text()
    assert "request_error" in old_log and "invalid_api_key_format" in old_log
    everything = old_log + (tmp_path / "new.log").read_text() + done.stdout + done.stderr
    assert "credentials_kek_rotated" in everything
    assert KEY not in everything and KEY[-20:] not in everything
