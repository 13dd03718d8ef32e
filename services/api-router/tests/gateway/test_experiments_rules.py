"""Experiments and routing rules end to end: real user-org, router and analytics processes
on Postgres, Redis and RabbitMQ, the openai SDK as the client, a fake vLLM upstream.

Which deployment served a request is read from the upstream model name the fake saw: each
deployment below sends its own. Arm assignment is a hash of fixed names, so the split
counts are the same on every run; the bounds only say "a real split", never "lucky".
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest
import yaml

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import router_process
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

from .userorg_process import userorg_env
from .userorg_stack import Admin

CHEAP = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 1_000_000}
DEAR = {"input_micro_usd_per_mtok": 5_000_000, "output_micro_usd_per_mtok": 5_000_000}
HI = [{"role": "user", "content": "hi"}]


def _catalog(vllm_url: str) -> dict[str, Any]:
    def deployment(name: str, provider: str = "vllm", **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "provider": provider,
            "base_url": f"{vllm_url}/v1",
            "model": f"fake-{name}",
            **extra,
        }

    def model(name: str, deployments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {"name": name, "deployments": deployments, "pricing": CHEAP, **extra}

    def split(name: str, sticky: str, a: str = "chat-a", b: str = "chat-b") -> dict[str, Any]:
        arms = [{"name": "a", "model": a, "weight": 50}, {"name": "b", "model": b, "weight": 50}]
        return {"name": name, "arms": arms, "sticky": sticky}

    premium_only = [{"tags": ["premium"], "pool": "reserved", "exclusive": True}]
    return {
        "models": [
            model("chat-a", [deployment("arm-a")]),
            model("chat-b", [deployment("arm-b", "openai-compatible")], pricing=DEAR),
            model("broken", [{**deployment("broken"), "model": "fake-500"}]),
            model(
                "tiered",
                [deployment("shared"), deployment("reserved", pool="reserved")],
                rules=premium_only,
            ),
            model("vip", [deployment("vip", pool="reserved")], rules=premium_only),
        ],
        "experiments": [
            split("ab-user", "user"),
            split("ab-key", "key"),
            split("ab-err", "user", b="broken"),
        ],
    }


@dataclass
class Stack:
    router: str
    analytics: str
    admin: Admin
    vllm: FakeVllm

    def served(self) -> str:
        """The deployment of the last request upstream saw (its model is `fake-<name>`)."""
        model = str(self.vllm.log.bodies[-1]["model"])
        return "broken" if model == "fake-500" else model.removeprefix("fake-")


@pytest.fixture(scope="module")
def processes(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, create_pg_database: Callable[[str], str]
) -> Iterator[tuple[str, str, str, FakeVllm]]:
    """(user-org, router, analytics URLs; the fake vLLM)."""
    tmp = tmp_path_factory.mktemp("experiments")
    token = secrets.token_urlsafe(32)
    env = userorg_env(infra, tmp, create_pg_database("exp_userorg"), token, "exp-userorg")
    env["AISTRALE_LAST_USED_CONSUMER"] = "false"  # docs/decisions/userorg-key-lookup.md
    userorg_only = (
        "ADMIN_EMAIL",
        "ADMIN_PASSWORD",
        "BCRYPT_ROUNDS",
        "USER_ORG_DATABASE_URL",
        "LAST_USED_CONSUMER",
    )
    analytics_env = {
        **{k: v for k, v in env.items() if k.removeprefix("AISTRALE_") not in userorg_only},
        "AISTRALE_ANALYTICS_DATABASE_URL": create_pg_database("exp_analytics"),
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix("exp-analytics"),
        "AISTRALE_RECONCILE_ENABLED": "false",
    }
    vllm = FakeVllm()
    userorg_port, analytics_port = free_port(), free_port()
    analytics_env["AISTRALE_USER_ORG_URL"] = f"http://127.0.0.1:{userorg_port}"
    userorg_argv = python_module_argv("aistrale-user-org", "serve", "--port", str(userorg_port))
    analytics_argv = python_module_argv(
        "aistrale-analytics", "serve", "--port", str(analytics_port)
    )
    with (
        serve_in_thread(vllm.app) as vllm_url,
        service_process(
            userorg_argv, userorg_port, env, log_path=tmp / "user-org.log", ready_path="/ready"
        ) as userorg,
        service_process(
            analytics_argv,
            analytics_port,
            analytics_env,
            log_path=tmp / "analytics.log",
            ready_path="/ready",
        ) as analytics,
    ):
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(vllm_url)))
        with router_process(infra, tmp, userorg, token, models) as router:
            yield userorg, router, analytics, vllm


@pytest.fixture
async def stack(processes: tuple[str, str, str, FakeVllm]) -> AsyncIterator[Stack]:
    userorg, router, analytics, vllm = processes
    admin = Admin(userorg)
    try:
        yield Stack(router, analytics, admin, vllm)
    finally:
        await admin.close()


async def _org_and_key(stack: Stack, models: list[str] | None = None) -> tuple[str, str]:
    """A new org (a fresh name) and a key of it: (org id, plaintext key)."""
    org_id = await stack.admin.new_org(f"exp-{secrets.token_hex(4)}")
    key, _ = await stack.admin.new_key(org_id, allowed_models=models)
    return org_id, key


async def _ask(client: openai.AsyncOpenAI, model: str, user: str | None = None) -> None:
    extra = {"user": user} if user else {}
    answer = await client.chat.completions.create(model=model, messages=HI, **extra)  # type: ignore[call-overload]
    assert answer.model == model  # the name the client asked for, not the arm's


async def _arm_of(stack: Stack, client: openai.AsyncOpenAI, model: str, user: str) -> str:
    await _ask(client, model, user)
    return stack.served()


async def test_an_experiment_splits_users_by_weight_and_keeps_each_user_on_one_arm(
    stack: Stack,
) -> None:
    _, key = await _org_and_key(stack, ["ab-user"])
    client = open_sdk(stack.router + "/v1", key)
    arms = Counter([await _arm_of(stack, client, "ab-user", f"user-{i}") for i in range(200)])
    assert set(arms) == {"arm-a", "arm-b"}
    assert 60 <= arms["arm-a"] <= 140, arms  # 50/50 over 200 users: sd 7, this is 5.7 sd
    first = await _arm_of(stack, client, "ab-user", "steady-user")
    assert {await _arm_of(stack, client, "ab-user", "steady-user") for _ in range(20)} == {first}
    metrics = httpx.get(f"{stack.router}/metrics", timeout=5).text
    lines = [
        line
        for line in metrics.splitlines()
        if line.startswith("aistrale_api_router_requests_total")
    ]
    assert any('model="ab-user"' in line for line in lines), lines


async def test_sticky_per_key_gives_every_request_of_a_key_the_same_arm(stack: Stack) -> None:
    seen: dict[str, set[str]] = {}
    for _ in range(6):
        _, key = await _org_and_key(stack, ["ab-key"])
        client = open_sdk(stack.router + "/v1", key)
        seen[key] = {await _arm_of(stack, client, "ab-key", f"u{i}") for i in range(4)}
    assert all(len(arms) == 1 for arms in seen.values()), seen


async def test_a_key_may_use_an_experiment_it_is_allowed_by_name(stack: Stack) -> None:
    _, arm_only = await _org_and_key(stack, ["chat-a", "chat-b"])
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await _ask(open_sdk(stack.router + "/v1", arm_only), "ab-user", "someone")
    assert refused.value.code == "model_not_allowed"
    _, key = await _org_and_key(stack, ["ab-user"])
    client = open_sdk(stack.router + "/v1", key)
    listed = {m.id for m in (await client.models.list()).data}
    assert listed == {"ab-user"}
    assert (await client.models.retrieve("ab-user")).id == "ab-user"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("ab-key")  # an experiment this key may not use
    with pytest.raises(openai.NotFoundError) as missing:
        await _ask(client, "ab-nope")
    assert "`ab-user`" in str(missing.value.message)


async def test_analytics_compares_arms_deployments_and_providers(stack: Stack) -> None:
    org_id, key = await _org_and_key(stack, ["ab-user", "ab-err"])
    client = open_sdk(stack.router + "/v1", key)
    served = Counter([await _arm_of(stack, client, "ab-user", f"cmp-{i}") for i in range(40)])
    failed = 0
    for i in range(20):
        try:
            await _ask(client, "ab-err", f"err-{i}")
        except openai.APIStatusError as exc:
            assert exc.status_code == 502
            failed += 1
    assert 0 < failed < 20
    arms = await _report(stack, org_id, "arm", lambda rows: _total(rows) == 60)
    by_arm = {(r["experiment"], r["arm"]): r for r in arms}
    assert by_arm[("ab-user", "a")]["requests"] == served["arm-a"]
    assert by_arm[("ab-user", "b")]["requests"] == served["arm-b"]
    assert by_arm[("ab-err", "b")]["errors"] == failed == by_arm[("ab-err", "b")]["requests"]
    assert by_arm[("ab-err", "a")]["errors"] == 0
    cheap, dear = by_arm[("ab-user", "a")], by_arm[("ab-user", "b")]
    # Priced at the arm's model: chat-b costs five times chat-a per token.
    assert (
        dear["cost_micro_usd"] * cheap["requests"] == 5 * cheap["cost_micro_usd"] * dear["requests"]
    )
    assert cheap["latency_ms"]["p50"] <= cheap["latency_ms"]["p95"]
    deployments = await _report(stack, org_id, "deployment", lambda rows: _total(rows) == 60)
    assert {r["deployment"] for r in deployments} == {"arm-a", "arm-b", "broken"}
    providers = await _report(stack, org_id, "provider", lambda rows: _total(rows) == 60)
    counts = {r["provider"]: r["requests"] for r in providers}
    assert counts["openai-compatible"] == served["arm-b"]
    assert counts["vllm"] == 60 - served["arm-b"]


async def test_analytics_refuses_an_unknown_group(stack: Stack) -> None:
    org_id, _ = await _org_and_key(stack)
    async with httpx.AsyncClient(base_url=stack.analytics, headers=_bearer(stack)) as client:
        answer = await client.get(f"/analytics/v1/orgs/{org_id}/usage", params={"group_by": "x"})
    assert answer.status_code in (400, 422), answer.text
    assert "group_by" in answer.text


def _total(rows: list[dict[str, Any]]) -> int:
    return sum(int(r["requests"]) for r in rows)


def _bearer(stack: Stack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.admin.token}"}


async def _report(
    stack: Stack, org_id: str, group_by: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The day's rows of the usage report once `done` holds (events arrive through RabbitMQ)."""
    now = datetime.now(UTC)
    params = {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1)).isoformat(),
        "bucket": "day",
        "group_by": group_by,
    }
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=stack.analytics, headers=_bearer(stack)) as client:
        while True:
            answer = await client.get(f"/analytics/v1/orgs/{org_id}/usage", params=params)
            assert answer.status_code == 200, answer.text
            rows: list[dict[str, Any]] = answer.json()["data"]
            if done(rows):
                return _merged(rows, group_by)
            assert time.monotonic() < deadline, rows
            await asyncio.sleep(0.2)


def _merged(rows: list[dict[str, Any]], group_by: str) -> list[dict[str, Any]]:
    """One row per group (a run across midnight has two day buckets)."""
    names = {"arm": ("experiment", "arm")}.get(group_by, (group_by,))
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        group = tuple(row[n] for n in names)
        if group in merged:
            for field in ("requests", "errors", "cost_micro_usd"):
                merged[group][field] += row[field]
        else:
            merged[group] = dict(row)
    return list(merged.values())


async def _first_of(
    stack: Stack, client: openai.AsyncOpenAI, model: str, wanted: str, within_s: float
) -> float:
    """Seconds until `model` is served by deployment `wanted`."""
    start = time.monotonic()
    while True:
        await _ask(client, model)
        if stack.served() == wanted:
            return time.monotonic() - start
        assert time.monotonic() - start < within_s, f"still not {wanted} after {within_s}s"
        await asyncio.sleep(0.02)


async def _deployments(stack: Stack, client: openai.AsyncOpenAI, model: str, n: int) -> set[str]:
    served = set()
    for _ in range(n):
        await _ask(client, model)
        served.add(stack.served())
    return served


async def test_a_key_tagged_premium_moves_to_the_reserved_pool_within_a_second(
    stack: Stack,
) -> None:
    org_id = await stack.admin.new_org(f"exp-{secrets.token_hex(4)}")
    key, key_id = await stack.admin.new_key(org_id, allowed_models=None)
    client = open_sdk(stack.router + "/v1", key)
    assert await _deployments(stack, client, "tiered", 20) == {"shared"}  # exclusive
    with pytest.raises(openai.PermissionDeniedError):
        await _ask(client, "vip")  # every deployment is reserved for others
    await stack.admin.update_key(org_id, key_id, tags=["premium"])
    await _first_of(stack, client, "tiered", "reserved", within_s=1.0)
    assert await _deployments(stack, client, "tiered", 10) == {"reserved"}
    await _ask(client, "vip")
    assert stack.served() == "vip"
    await stack.admin.update_key(org_id, key_id, tags=[])
    await _first_of(stack, client, "tiered", "shared", within_s=1.0)


async def test_an_orgs_tags_apply_to_its_keys(stack: Stack) -> None:
    org_id, key = await _org_and_key(stack)
    other_org, other_key = await _org_and_key(stack)
    client, other = open_sdk(stack.router + "/v1", key), open_sdk(stack.router + "/v1", other_key)
    assert await _deployments(stack, client, "tiered", 5) == {"shared"}
    await stack.admin.update_org(org_id, tags=["premium"])
    await _first_of(stack, client, "tiered", "reserved", within_s=1.0)
    assert await _deployments(stack, other, "tiered", 20) == {"shared"}
    shown = await stack.admin.send("GET", f"/admin/v1/orgs/{org_id}")
    assert shown.json()["tags"] == ["premium"]
    assert other_org != org_id


async def test_tags_are_validated_audited_and_scoped_to_the_org(stack: Stack) -> None:
    org_id = await stack.admin.new_org(f"exp-{secrets.token_hex(4)}")
    other_org = await stack.admin.new_org(f"exp-{secrets.token_hex(4)}")
    _, key_id = await stack.admin.new_key(org_id, tags=["gold", "beta", "gold"])
    path = f"/admin/v1/orgs/{org_id}/keys/{key_id}"
    shown = await stack.admin.send("GET", path)
    assert shown.json()["tags"] == ["beta", "gold"]  # a set: sorted, once each
    for bad in (["Has Space"], ["UPPER"], [""], ["x" * 65], [f"t{i}" for i in range(33)], "x"):
        refused = await stack.admin.send("PATCH", path, {"tags": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["param"].startswith("tags"), refused.text
    refused_org = await stack.admin.send("PATCH", f"/admin/v1/orgs/{org_id}", {"tags": ["A B"]})
    assert refused_org.status_code == 422
    elsewhere = await stack.admin.send(
        "PATCH", f"/admin/v1/orgs/{other_org}/keys/{key_id}", {"tags": ["premium"]}
    )
    assert elsewhere.status_code == 404
    changed = await stack.admin.send("PATCH", path, {"tags": ["premium"]})
    assert changed.status_code == 200 and changed.json()["tags"] == ["premium"]
    audit = await stack.admin.send("GET", f"/admin/v1/audit?org_id={org_id}&action=key.update")
    entries = audit.json()["data"]
    assert [e["details"]["tags"] for e in entries if e["target"] == key_id] == [["premium"]]
    assert (await stack.admin.send("GET", path)).json()["tags"] == ["premium"]
