"""The bench's tenant, made through the real admin API as a user would: log in as the first
platform admin, create an org with RPM/TPM limits, a key with its own limits, and a budget
on both. The limits and budgets never bind, so every admission check runs in full."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

ADMIN_EMAIL = "bench@example.com"
LIMIT = 10**9  # the largest RPM/TPM limit the API takes
BUDGET = {"limit_micro_usd": 10**15, "period": "month"}


def admin_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Tenant:
    org_id: str
    key_id: str
    key: str

    @property
    def authorization(self) -> str:
        return f"Bearer {self.key}"


class AdminClient:
    """Admin calls with a bearer token, logging in again when it has expired."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=30.0)
        self._email = email
        self._password = password
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 401:
            self._token = None
            response = self._send(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self._login()}"}
        return self._http.request(method, path, headers=headers, **kwargs)

    def _login(self) -> str:
        if self._token is None:
            form = {"grant_type": "password", "username": self._email, "password": self._password}
            response = self._http.post("/admin/v1/auth/token", data=form)
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token


def provision(admin: AdminClient, *, limits: bool = True) -> Tenant:
    """`limits=False`: an org and key with no limits and no budget (a diagnostic: admission
    then never needs the limits store)."""
    bounds = {"rpm_limit": LIMIT, "tpm_limit": LIMIT} if limits else {}
    org = admin.request("POST", "/admin/v1/orgs", json={"name": "bench", **bounds})
    org_id = str(org["id"])
    key = admin.request("POST", f"/admin/v1/orgs/{org_id}/keys", json={"name": "bench", **bounds})
    if limits:
        admin.request("PUT", f"/admin/v1/orgs/{org_id}/budget", json=BUDGET)
        admin.request("PUT", f"/admin/v1/orgs/{org_id}/keys/{key['id']}/budget", json=BUDGET)
    return Tenant(org_id, str(key["id"]), str(key["key"]))
