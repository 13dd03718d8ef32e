"""The request log over real usage events: filters, cursor pages, other orgs' 404s;
request bodies: absent unless the org opted in, stored encrypted, readable by owners and
admins only, each read audited; and data residency. Real user-org, router and analytics
processes, started once for the file (one worker takes a whole file)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import openai
import pytest

from tests.request_log.harness import Stack, eventually


def _ask(client: openai.OpenAI, model: str, request_id: str, prompt: str = "hello") -> str:
    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=8,
        extra_headers={"x-request-id": request_id},
    )
    return answer.choices[0].message.content or ""


def _log(stack: Stack, org_id: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = stack.analytics_get(f"/analytics/v1/orgs/{org_id}/requests", headers, **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _logged(stack: Stack, org_id: str, count: int, **params: Any) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        rows = _log(stack, org_id, stack.platform_admin(), limit=200, **params)["data"]
        return rows if len(rows) >= count else None

    rows: list[dict[str, Any]] = eventually(enough)
    return rows


@pytest.fixture(scope="module")
def tenant(running: Stack) -> dict[str, Any]:
    """An org with two keys and traffic: five requests with the first key, two with the
    second, and one the router refused (a model the second key may not use)."""
    org = running.org(f"log-{uuid.uuid4().hex[:6]}")
    first_id, first = running.key(org)
    second_id, second = running.key(org, allowed_models=["plain-chat"])
    run = uuid.uuid4().hex[:8]
    for i in range(5):
        _ask(running.client(first), "plain-chat", f"{run}-a{i}")
    for i in range(2):
        _ask(running.client(second), "plain-chat", f"{run}-b{i}")
    with pytest.raises(openai.PermissionDeniedError):
        _ask(running.client(second), "geo-chat", f"{run}-refused")
    _logged(running, org, 8)
    return {"org": org, "first": first_id, "second": second_id, "run": run, "key": first}


def test_one_row_per_request_with_its_fields(running: Stack, tenant: dict[str, Any]) -> None:
    rows = _logged(running, tenant["org"], 8)
    assert len(rows) == 8
    ok = next(r for r in rows if r["request_id"] == f"{tenant['run']}-a0")
    assert ok["key_id"] == tenant["first"] and ok["model"] == "plain-chat"
    assert ok["status"] == 200 and ok["deployment"] == "plain-1" and ok["provider"] == "vllm"
    assert ok["prompt_tokens"] > 0 and ok["completion_tokens"] > 0 and ok["cost_micro_usd"] > 0
    assert ok["latency_ms"] > 0 and ok["cached"] is False and ok["error_code"] is None
    assert ok["region"] is None  # plain-1 names no region
    times = [r["occurred_at"] for r in rows]
    assert times == sorted(times, reverse=True)  # newest first


def test_filters_by_key_model_and_status(running: Stack, tenant: dict[str, Any]) -> None:
    admin, org = running.platform_admin(), tenant["org"]
    by_key = _log(running, org, admin, key_id=tenant["second"])["data"]
    assert len(by_key) == 3 and {r["key_id"] for r in by_key} == {tenant["second"]}
    assert len(_log(running, org, admin, model="plain-chat")["data"]) == 7
    refused = _log(running, org, admin, status=403)["data"]
    assert [r["request_id"] for r in refused] == [f"{tenant['run']}-refused"]
    assert refused[0]["error_code"] == "model_not_allowed" and refused[0]["deployment"] is None
    assert _log(running, org, admin, start="2026-01-01T00:00:00Z", end="2026-01-02")["data"] == []


def test_cursor_pages_are_stable_and_complete(running: Stack, tenant: dict[str, Any]) -> None:
    admin, org = running.platform_admin(), tenant["org"]
    whole = _log(running, org, admin, key_id=tenant["first"], limit=200)["data"]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"key_id": tenant["first"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = _log(running, org, admin, **params)
        seen += [r["request_id"] for r in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A request after the first page does not shift the next ones (newest first).
        if pages == 1:
            _ask(running.client(tenant["key"]), "plain-chat", f"{tenant['run']}-late")
    assert pages == 3
    assert seen == [r["request_id"] for r in whole]


def test_bad_cursor_and_limit_are_400s(running: Stack, tenant: dict[str, Any]) -> None:
    path, admin = f"/analytics/v1/orgs/{tenant['org']}/requests", running.platform_admin()
    for params in (
        {"cursor": "not-a-cursor"},
        {"limit": 1000},
        {"start": "2026-02-02", "end": "2026-02-01"},
    ):
        answer = running.analytics_get(path, admin, **params)
        assert answer.status_code == 400, answer.text
        assert set(answer.json()["error"]) >= {"message", "type", "code"}


def test_another_orgs_log_and_bodies_are_404(running: Stack, tenant: dict[str, Any]) -> None:
    other = running.org(f"log-other-{uuid.uuid4().hex[:6]}")
    _, owner = running.member(other, f"owner-{uuid.uuid4().hex[:6]}@example.com", "owner")
    base = f"/analytics/v1/orgs/{tenant['org']}/requests"
    assert running.analytics_get(base, owner).status_code == 404
    one = f"{base}/{tenant['run']}-a0"
    assert running.analytics_get(one, owner).status_code == 404
    assert running.analytics_get(one, owner, include="bodies").status_code == 404
    # Its own log is empty, not the other org's.
    assert _log(running, other, owner)["data"] == []


def test_bodies_absent_unless_opted_in(running: Stack, tenant: dict[str, Any]) -> None:
    org, admin = tenant["org"], running.platform_admin()
    setting = running.admin.call("GET", f"/admin/v1/orgs/{org}/logging").json()
    assert setting == {"bodies": False, "retention_days": 30}
    one = f"/analytics/v1/orgs/{org}/requests/{tenant['run']}-a1"
    answer = running.analytics_get(one, admin, include="bodies")
    assert answer.status_code == 200 and answer.json()["bodies"] is None
    assert running.rows("SELECT 1 FROM request_bodies WHERE org_id = $1", org) == []


def _opted_in_org(running: Stack) -> tuple[str, str]:
    org = running.org(f"log-bodies-{uuid.uuid4().hex[:6]}")
    _, key = running.key(org)
    put = running.admin.call(
        "PUT", f"/admin/v1/orgs/{org}/logging", {"bodies": True, "retention_days": 7}
    )
    assert put.json() == {"bodies": True, "retention_days": 7}
    return org, key


def test_bodies_are_stored_encrypted_and_read_by_admins_audited(running: Stack) -> None:
    org, key = _opted_in_org(running)
    owner_id, owner = running.member(org, f"own-{uuid.uuid4().hex[:6]}@example.com", "owner")
    _, member = running.member(org, f"mem-{uuid.uuid4().hex[:6]}@example.com", "member")
    secret, rid = f"the launch code is {uuid.uuid4().hex}", f"body-{uuid.uuid4().hex[:8]}"
    content = _ask(running.client(key), "plain-chat", rid, secret)

    stored = eventually(
        lambda: running.rows("SELECT * FROM request_bodies WHERE request_id = $1", rid)
    )
    row = stored[0]
    assert row["org_id"] == org and row["prompt_sealed"].startswith("v1.")
    assert secret not in row["prompt_sealed"] and content not in row["completion_sealed"]
    assert (row["expires_at"] - row["occurred_at"]).days == 7

    one = f"/analytics/v1/orgs/{org}/requests/{rid}"
    assert running.analytics_get(one, member).status_code == 200  # the log: yes
    denied = running.analytics_get(one, member, include="bodies")  # the bodies: no
    assert denied.status_code == 403, denied.text
    answer = running.analytics_get(one, owner, include="bodies")
    assert answer.status_code == 200, answer.text
    bodies = answer.json()["bodies"]
    assert secret in bodies["prompt"] and not bodies["prompt_truncated"]
    assert content in bodies["completion"]

    reads = running.analytics_get(f"/analytics/v1/orgs/{org}/request-body-reads", owner)
    assert [(r["request_id"], r["user_id"]) for r in reads.json()] == [(rid, owner_id)]
    assert (
        running.analytics_get(f"/analytics/v1/orgs/{org}/request-body-reads", member).status_code
        == 403
    )
    audit = running.admin.call("GET", f"/admin/v1/audit?org_id={org}&action=org.logging.set")
    [entry] = audit.json()["data"]
    assert entry["details"] == {"log_bodies": True, "log_retention_days": 7}


def test_streamed_and_oversized_bodies(running: Stack) -> None:
    """A streamed answer is kept as the SSE events the client got; a prompt past 64 KB is
    cut there, and says so."""
    org, key = _opted_in_org(running)
    streamed, big = f"stream-{uuid.uuid4().hex[:8]}", f"big-{uuid.uuid4().hex[:8]}"
    chunks = running.client(key).chat.completions.create(
        model="plain-chat",
        messages=[{"role": "user", "content": "stream please"}],
        max_tokens=8,
        stream=True,
        extra_headers={"x-request-id": streamed},
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    _ask(running.client(key), "plain-chat", big, "x" * 70_000)

    def bodies(rid: str) -> dict[str, Any] | None:
        one = f"/analytics/v1/orgs/{org}/requests/{rid}"
        answer = running.analytics_get(one, running.platform_admin(), include="bodies")
        found: dict[str, Any] | None = (
            answer.json().get("bodies") if answer.status_code == 200 else None
        )
        return found

    stream_bodies = eventually(lambda: bodies(streamed))
    # What went upstream: the router asked for usage in the stream, the client did not.
    assert "stream please" in stream_bodies["prompt"] and "include_usage" in stream_bodies["prompt"]
    assert stream_bodies["completion"].startswith("data: ")
    assert stream_bodies["completion"].rstrip().endswith("data: [DONE]")
    assert content.split()[0] in stream_bodies["completion"]
    big_bodies = eventually(lambda: bodies(big))
    assert big_bodies["prompt_truncated"] is True and len(big_bodies["prompt"]) == 64 * 1024
    assert big_bodies["completion_truncated"] is False


def test_logging_is_set_by_owners_and_admins_only(running: Stack) -> None:
    org = running.org(f"log-set-{uuid.uuid4().hex[:6]}")
    _, admin = running.member(org, f"adm-{uuid.uuid4().hex[:6]}@example.com", "admin")
    _, member = running.member(org, f"mbr-{uuid.uuid4().hex[:6]}@example.com", "member")
    path = f"{running.userorg}/admin/v1/orgs/{org}/logging"
    on = {"bodies": True, "retention_days": 2}
    assert httpx.put(path, json=on, headers=member).status_code == 403
    assert httpx.get(path, headers=member).json() == {"bodies": False, "retention_days": 30}
    for bad in ({"bodies": True, "retention_days": 0}, {"bodies": True, "extra": 1}):
        answer = httpx.put(path, json=bad, headers=admin)
        assert answer.status_code == 422 and "error" in answer.json(), answer.text
    assert httpx.put(path, json=on, headers=admin).json() == on
    assert httpx.get(path, headers=member).json() == on


# Data residency: an org restricted to `eu` is only ever served by `eu` deployments, through
# retries and when its region is down; a model without an `eu` deployment is a 403
# `region_not_allowed`; the region is in the usage event (the request log shows it).


def _ask_geo(client: openai.OpenAI, model: str, request_id: str) -> None:
    client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "where am I served?"}],
        max_tokens=4,
        extra_headers={"x-request-id": request_id},
    )


def _geo_rows(stack: Stack, org: str, prefix: str, count: int) -> list[dict[str, Any]]:
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
        _ask_geo(running.client(key), "geo-chat", f"{run}-{i}")
    rows = _geo_rows(running, org, run, 8)
    assert len(rows) == 8
    assert {(r["deployment"], r["region"]) for r in rows} == {("eu-1", "eu")}


def test_when_eu_is_down_an_eu_org_gets_503_never_us(
    running: Stack, eu_org: tuple[str, str]
) -> None:
    org, key = eu_org
    rid = f"down-{uuid.uuid4().hex[:6]}"
    with pytest.raises(openai.InternalServerError) as caught:
        _ask_geo(running.client(key), "geo-down", rid)
    assert caught.value.status_code == 503
    [row] = _geo_rows(running, org, rid, 1)
    assert row["status"] == 503 and row["deployment"] == "eu-dead" and row["region"] == "eu"


def test_an_unrestricted_org_falls_over_to_us(running: Stack) -> None:
    """The control for the test above: the same model does answer, from us."""
    org = running.org(f"geo-any-{uuid.uuid4().hex[:6]}")
    _, key = running.key(org)
    rid = f"any-{uuid.uuid4().hex[:6]}"
    _ask_geo(running.client(key), "geo-down", rid)
    [row] = _geo_rows(running, org, rid, 1)
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
    listed = {m.id for m in running.client(key).models.list()}
    assert {"geo-chat", "geo-down"} <= listed and "us-only" not in listed


def test_a_residency_change_reaches_the_router_within_a_second(running: Stack) -> None:
    org = running.org(f"geo-late-{uuid.uuid4().hex[:6]}")
    _, key = running.key(org)
    _ask_geo(running.client(key), "us-only", f"late-{uuid.uuid4().hex[:6]}")  # cached: allowed
    _restrict(running, org, ["eu"])
    changed = time.monotonic()

    def refused() -> bool:
        try:
            _ask_geo(running.client(key), "us-only", f"late-{uuid.uuid4().hex[:6]}")
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
