"""The soak's orgs and keys, made through the real admin API as an admin would.

- `busy`: a large budget (leased). Key `limited` has RPM/TPM limits large enough to lease;
  key `plain` has none. Priced and free models, half streamed.
- `capped`: a moderate budget; key `tight` has an RPM limit the load passes (429s).
- `spender`: a small budget that runs out during the run (insufficient_quota), not streamed.
- `free`: a large budget; key `free` has an RPM limit and uses only the zero-priced model
  (its leases hold 0).
- `open`: no budget; key `open` has no limits (needs no Redis).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Key:
    org: str  # its name in the table above
    name: str
    org_id: str
    key_id: str
    secret: str
    models: tuple[str, ...]
    stream_share: float  # of its requests that are streamed


class Admin:
    """Admin REST calls with a bearer token (logs in again when it expires)."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=30.0)
        self._email, self._password = email, password
        self._token = ""

    def close(self) -> None:
        self._http.close()

    def token(self) -> str:
        if not self._token:
            form = {"username": self._email, "password": self._password}
            answer = self._http.post("/admin/v1/auth/token", data=form)
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, body: object = None) -> httpx.Response:
        answer = self._http.request(
            method, path, json=body, headers={"authorization": f"Bearer {self.token()}"}
        )
        if answer.status_code == 401:  # expired: once more with a new token
            self._token = ""
            answer = self._http.request(
                method, path, json=body, headers={"authorization": f"Bearer {self.token()}"}
            )
        answer.raise_for_status()
        return answer

    def org(self, name: str, budget: int | None) -> str:
        org_id = str(self.call("POST", "/admin/v1/orgs", {"name": name}).json()["id"])
        if budget is not None:
            limit = {"limit_micro_usd": budget, "period": "total"}
            self.call("PUT", f"/admin/v1/orgs/{org_id}/budget", limit)
        return org_id

    def key(self, org_id: str, name: str, **limits: int) -> tuple[str, str]:
        made = self.call("POST", f"/admin/v1/orgs/{org_id}/keys", {"name": name, **limits}).json()
        return str(made["id"]), str(made["key"])


BUSY_BUDGET = 10**12  # micro-USD: a million USD, never reached, large enough to lease
CAPPED_BUDGET = 10**9
SPENDER_BUDGET = 15_000  # about 440 priced requests of the soak's size (34 micro-USD)


def provision(admin: Admin, run: str) -> list[Key]:
    both = ("soak-chat", "soak-free")
    orgs = {
        "busy": admin.org(f"soak-{run}-busy", BUSY_BUDGET),
        "capped": admin.org(f"soak-{run}-capped", CAPPED_BUDGET),
        "spender": admin.org(f"soak-{run}-spender", SPENDER_BUDGET),
        "free": admin.org(f"soak-{run}-free", BUSY_BUDGET),
        "open": admin.org(f"soak-{run}-open", None),
    }
    specs: list[tuple[str, str, dict[str, int], tuple[str, ...], float]] = [
        ("busy", "limited", {"rpm_limit": 600_000, "tpm_limit": 10**9}, ("soak-chat",), 0.5),
        ("busy", "plain", {}, both, 0.5),
        ("capped", "tight", {"rpm_limit": 120}, ("soak-chat",), 0.3),
        ("spender", "spender", {}, ("soak-chat",), 0.0),
        ("free", "free", {"rpm_limit": 600_000}, ("soak-free",), 0.5),
        ("open", "open", {}, both, 0.5),
    ]
    keys = []
    for org, name, limits, models, streamed in specs:
        key_id, secret = admin.key(orgs[org], f"soak-{name}", **limits)
        keys.append(Key(org, name, orgs[org], key_id, secret, models, streamed))
    return keys
