"""A real user-org process the tests can SIGSTOP, and its admin API as the tests use it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from aistrale_testkit.processes import python_module_argv, stop_process

from .userorg_process import ADMIN


@dataclass
class UserOrgProcess:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, never answered."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def cont(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)


@contextlib.contextmanager
def userorg_process(port: int, env: Mapping[str, str], log_path: Path) -> Iterator[UserOrgProcess]:
    argv = python_module_argv("aistrale-user-org", "serve", "--port", str(port))
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=log)
    handle = UserOrgProcess(f"http://127.0.0.1:{port}", proc)
    try:
        _wait_ready(handle)
        yield handle
    finally:
        handle.cont()  # a stopped process cannot be terminated
        stop_process(proc)


def _wait_ready(handle: UserOrgProcess, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if handle.proc.poll() is not None:
            raise RuntimeError(f"user-org exited with {handle.proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(handle.url + "/ready", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError("user-org not ready")


class Admin:
    """The admin REST API (docs/admin-api.md), signed in as the first platform admin."""

    def __init__(self, url: str) -> None:
        form = {"username": ADMIN[0], "password": ADMIN[1]}
        token = httpx.post(f"{url}/admin/v1/auth/token", data=form, timeout=10)
        token.raise_for_status()
        headers = {"authorization": f"Bearer {token.json()['access_token']}"}
        self._client = httpx.AsyncClient(base_url=url, headers=headers, timeout=10)

    async def new_org(self, name: str) -> str:
        return str((await self._call("POST", "/admin/v1/orgs", {"name": name}))["id"])

    async def new_key(self, org_id: str, **fields: Any) -> tuple[str, str]:
        """(plaintext key, key id)."""
        body = {"name": "outage", "allowed_models": ["chat-model"], **fields}
        created = await self._call("POST", f"/admin/v1/orgs/{org_id}/keys", body)
        return str(created["key"]), str(created["id"])

    async def update_key(self, org_id: str, key_id: str, **fields: Any) -> None:
        await self._call("PATCH", f"/admin/v1/orgs/{org_id}/keys/{key_id}", fields)

    async def revoke(self, org_id: str, key_id: str) -> None:
        await self._call("DELETE", f"/admin/v1/orgs/{org_id}/keys/{key_id}")

    async def set_budget(self, org_id: str, limit_micro_usd: int) -> None:
        body = {"limit_micro_usd": limit_micro_usd, "period": "total"}
        await self._call("PUT", f"/admin/v1/orgs/{org_id}/budget", body)

    async def close(self) -> None:
        await self._client.aclose()

    async def update_org(self, org_id: str, **fields: Any) -> None:
        await self._call("PATCH", f"/admin/v1/orgs/{org_id}", fields)

    async def send(self, method: str, path: str, body: object = None) -> httpx.Response:
        """Whatever the API answers, refusals included."""
        return await self._client.request(method, path, json=body)

    @property
    def token(self) -> str:
        return self._client.headers["authorization"].removeprefix("Bearer ")

    async def _call(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        answer = await self.send(method, path, body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else {}
