"""Data residency end to end: an org restricted to `eu` is only ever served by `eu`
deployments, through retries and when its region is down; a model without an `eu`
deployment is a 403 `region_not_allowed`; the region is in the usage event (the request
log shows it). Real user-org, router and analytics processes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import openai
import pytest

from tests.request_log.harness import Stack, eventually


def _ask(client: openai.OpenAI, model: str, request_id: str) -> None:
    client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "where am I served?"}],
        max_tokens=4,
        extra_headers={"x-request-id": request_id},
    )


def _rows(stack: Stack, org: str, prefix: str, count: int) -> list[dict[str, Any]]:
    """The org's logged requests whose id starts with `prefix`, once there are `count`."""

    def enough() -> list[dict[str, Any]] | None:
        answer = stack.analytics_get(
            f"/analytics/v1/orgs/{org}/requests", stack.platform_admin(), limit=200
        )
        rows = [r for r in answer.json()["data"] if r["request_id"].startswith(prefix)]
        return rows if len(rows) >= count else None

    found: list[dict[str, Any]] = eventually(enough)
    return found


def _restrict(stack: Stack, org: str, regions: list[str] | None) -> None:
    put = stack.admin.call("PUT", f"/admin/v1/orgs/{org}/residency", {"regions": regions})
    assert put.json() == {"regions": regions}


@pytest.fixture(scope="module")
def eu_org(running: Stack) -> tuple[str, str]:
    org = running.org(f"geo-eu-{uuid.uuid4().hex[:6]}")
    _, key = running.key(org)
    _restrict(running, org, ["eu"])
    return org, key


def test_an_eu_org_is_served_in_eu_only(running: Stack, eu_org: tuple[str, str]) -> None:
    org, key = eu_org
    run = uuid.uuid4().hex[:6]
    for i in range(8):  # geo-chat has eu-1 and us-1 at equal weight
        _ask(running.client(key), "geo-chat", f"{run}-{i}")
    rows = _rows(running, org, run, 8)
    assert len(rows) == 8
    assert {(r["deployment"], r["region"]) for r in rows} == {("eu-1", "eu")}


def test_when_eu_is_down_an_eu_org_gets_503_never_us(
    running: Stack, eu_org: tuple[str, str]
) -> None:
    org, key = eu_org
    rid = f"down-{uuid.uuid4().hex[:6]}"
    with pytest.raises(openai.InternalServerError) as caught:
        _ask(running.client(key), "geo-down", rid)
    assert caught.value.status_code == 503
    [row] = _rows(running, org, rid, 1)
    assert row["status"] == 503 and row["deployment"] == "eu-dead" and row["region"] == "eu"


def test_an_unrestricted_org_falls_over_to_us(running: Stack) -> None:
    """The control for the test above: the same model does answer, from us."""
    org = running.org(f"geo-any-{uuid.uuid4().hex[:6]}")
    _, key = running.key(org)
    rid = f"any-{uuid.uuid4().hex[:6]}"
    _ask(running.client(key), "geo-down", rid)
    [row] = _rows(running, org, rid, 1)
    assert (row["status"], row["deployment"], row["region"]) == (200, "us-2", "us")


def test_no_deployment_in_the_region_is_403_region_not_allowed(
    running: Stack, eu_org: tuple[str, str]
) -> None:
    _, key = eu_org
    answer = httpx.post(
        f"{running.platform.router.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "us-only", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "region_not_allowed" and error["param"] == "model"
    assert "eu" in error["message"] and error["type"] == "permission_error"


def test_a_residency_change_reaches_the_router_within_a_second(running: Stack) -> None:
    org = running.org(f"geo-late-{uuid.uuid4().hex[:6]}")
    _, key = running.key(org)
    _ask(running.client(key), "us-only", f"late-{uuid.uuid4().hex[:6]}")  # cached: allowed
    _restrict(running, org, ["eu"])
    changed = time.monotonic()

    def refused() -> bool:
        try:
            _ask(running.client(key), "us-only", f"late-{uuid.uuid4().hex[:6]}")
        except openai.PermissionDeniedError as exc:
            return exc.code == "region_not_allowed"
        return False

    eventually(refused, within_s=5.0)
    assert time.monotonic() - changed < 2.0  # a control event, not the key cache's TTL
    _restrict(running, org, None)
    eventually(lambda: not refused(), within_s=5.0)


def test_residency_is_set_by_platform_admins_only(running: Stack) -> None:
    org = running.org(f"geo-own-{uuid.uuid4().hex[:6]}")
    owner_id, owner = running.member(org, f"geo-{uuid.uuid4().hex[:6]}@example.com", "owner")
    path = f"{running.userorg}/admin/v1/orgs/{org}/residency"
    assert httpx.put(path, json={"regions": ["us"]}, headers=owner).status_code == 403
    assert httpx.get(path, headers=owner).json() == {"regions": None}
    assert (
        httpx.put(path, json={"regions": []}, headers=running.platform_admin()).status_code == 422
    )
    audit = running.admin.call("GET", f"/admin/v1/audit?org_id={org}&action=org.residency.set")
    # The owner's refused attempt is audited as such; the platform admin's 422 never got in.
    assert [(e["actor_id"], e["outcome"]) for e in audit.json()["data"]] == [
        (owner_id, "failure:permission_denied")
    ]
