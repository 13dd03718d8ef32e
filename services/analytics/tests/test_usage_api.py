"""The usage API over HTTP (ASGI), fed through the in-process bus as `make run` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from aistrale_analytics.app import create_app
from aistrale_analytics.settings import Settings
from aistrale_common.db import Database
from aistrale_common.events import MemoryEventBus, OutgoingMessage
from aistrale_common.events.schemas import UsageEventV1
from aistrale_testkit.analytics.factories import BASE_TIME, random_events, usage_event
from aistrale_testkit.analytics.sums import stored_ids
from services.analytics.tests.authority import SECRET, SERVICE_TOKEN, authority, token

ORG = "org-api"


class Harness:
    def __init__(self, client: httpx.AsyncClient, bus: MemoryEventBus, db: Database) -> None:
        self.client = client
        self.bus = bus
        self.db = db

    async def publish(self, events: list[UsageEventV1]) -> None:
        messages = [
            OutgoingMessage(e.routing_key(), e.model_dump_json().encode(), str(e.event_id))
            for e in events
        ]
        await self.bus.publish_batch("usage", messages)
        expected = len(set(await stored_ids(self.db, ORG)) | {str(e.event_id) for e in events})
        async with asyncio.timeout(10):
            while len(await stored_ids(self.db, ORG)) < expected:
                await asyncio.sleep(0.02)


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(
        database_url=db.url,
        jwt_secret=SECRET,
        service_token=SERVICE_TOKEN,
        data_dir=tmp_path,
        reconcile_enabled=False,
    )
    bus = MemoryEventBus()
    async with authority(tmp_path, (ORG, "org-other")) as userorg:
        app = create_app(settings, bus=bus, userorg_transport=userorg)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://analytics") as c:
                yield Harness(c, bus, db)
    await bus.close()


def window(hours: int = 48) -> dict[str, str]:
    return {"start": BASE_TIME.isoformat(), "end": (BASE_TIME + timedelta(hours=hours)).isoformat()}


async def test_hourly_usage_by_model_with_exact_percentiles(api: Harness) -> None:
    at = BASE_TIME + timedelta(minutes=5)
    latencies = [10.0, 20.0, 30.0, 40.0]
    events = [
        usage_event(
            ORG,
            model="m1",
            occurred_at=at,
            latency_ms=ms,
            ttft_ms=ms / 10,
            cost_micro_usd=100,
            prompt_tokens=3,
            completion_tokens=4,
        )
        for ms in latencies
    ]
    events.append(usage_event(ORG, model="m2", occurred_at=at, status=502, cost_micro_usd=0))
    await api.publish(events)
    response = await api.client.get(
        f"/analytics/v1/orgs/{ORG}/usage",
        params={**window(), "bucket": "hour", "group_by": "model"},
        headers=token({ORG: "viewer"}),
    )
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert [(r["model"], r["requests"], r["errors"], r["cost_micro_usd"]) for r in rows] == [
        ("m1", 4, 0, 400),
        ("m2", 1, 1, 0),
    ]
    m1 = rows[0]
    assert m1["bucket_start"].startswith("2026-11-20T10:00:00")
    assert (m1["prompt_tokens"], m1["completion_tokens"]) == (12, 16)
    # percentile_cont over 10, 20, 30, 40: 25, 38.5, 39.7 (linear interpolation).
    assert m1["latency_ms"] == pytest.approx({"p50": 25.0, "p95": 38.5, "p99": 39.7})
    assert m1["ttft_ms"] == pytest.approx({"p50": 2.5, "p95": 3.85, "p99": 3.97})
    assert rows[1]["ttft_ms"] is None


async def test_buckets_and_groups_add_up_to_the_events(api: Harness) -> None:
    events = random_events(300, ORG)
    await api.publish(events)
    headers = token({ORG: "billing"})
    totals = {}
    for bucket, group_by in (("minute", None), ("hour", "key"), ("day", "model")):
        params = {**window(), "bucket": bucket}
        if group_by:
            params["group_by"] = group_by
        response = await api.client.get(
            f"/analytics/v1/orgs/{ORG}/usage", params=params, headers=headers
        )
        assert response.status_code == 200, response.text
        rows = response.json()["data"]
        totals[bucket] = (sum(r["requests"] for r in rows), sum(r["cost_micro_usd"] for r in rows))
    expected = (len(events), sum(e.cost_micro_usd for e in events))
    assert totals == {"minute": expected, "hour": expected, "day": expected}


def _routed(event: UsageEventV1, i: int) -> UsageEventV1:
    """Spread over two experiments' arms (a third outside any), deployments and providers."""
    arm = {0: ("chat-ab", "a"), 1: ("chat-ab", "b"), 2: ("other", "a"), 3: (None, None)}[i % 4]
    deployment, provider = (("d-1", "vllm"), ("d-2", "openai"), ("d-3", "vllm"))[i % 3]
    update = {"experiment": arm[0], "arm": arm[1], "deployment": deployment, "provider": provider}
    return event.model_copy(update=update)


async def test_groups_by_arm_deployment_and_provider_add_up_to_the_events(api: Harness) -> None:
    events = [_routed(e, i) for i, e in enumerate(random_events(240, ORG))]
    await api.publish(events)
    groups = {"arm": ("experiment", "arm"), "deployment": ("deployment",)}
    for group_by, fields in {**groups, "provider": ("provider",)}.items():
        response = await api.client.get(
            f"/analytics/v1/orgs/{ORG}/usage",
            params={**window(), "bucket": "day", "group_by": group_by},
            headers=token({ORG: "viewer"}),
        )
        assert response.status_code == 200, response.text
        got: dict[tuple[str, ...], list[int]] = {}
        for row in response.json()["data"]:
            sums = got.setdefault(tuple(row[f] for f in fields), [0, 0, 0])
            for n, name in enumerate(("requests", "errors", "cost_micro_usd")):
                sums[n] += row[name]
            assert row["latency_ms"]["p50"] <= row["latency_ms"]["p95"]
        expected: dict[tuple[str, ...], list[int]] = {}
        for e in events:
            group = tuple(getattr(e, f) for f in fields)
            if group_by == "arm" and e.experiment is None:
                continue  # requests outside every experiment are no arm's
            sums = expected.setdefault(group, [0, 0, 0])
            sums[0] += 1
            sums[1] += int(e.status >= 400 or e.error_type is not None)
            sums[2] += e.cost_micro_usd
        assert got == expected, group_by


async def test_summary_gives_period_totals_and_top_models_and_keys(api: Harness) -> None:
    now = datetime.now(UTC)
    events = [
        usage_event(ORG, model="big", key_id="k1", occurred_at=now, cost_micro_usd=900),
        usage_event(ORG, model="big", key_id="k2", occurred_at=now, cost_micro_usd=100),
        usage_event(ORG, model="small", key_id="k2", occurred_at=now, cost_micro_usd=50),
        usage_event(
            ORG, model="old", key_id="k3", occurred_at=now - timedelta(days=40), cost_micro_usd=5000
        ),
    ]
    await api.publish(events)
    response = await api.client.get(
        f"/analytics/v1/orgs/{ORG}/usage/summary",
        params={"period": "month", "top": 2},
        headers=token({ORG: "member"}),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"]["requests"] == 3 and body["totals"]["cost_micro_usd"] == 1050
    assert [(m["id"], m["cost_micro_usd"]) for m in body["top_models"]] == [
        ("big", 1000),
        ("small", 50),
    ]
    assert [(k["id"], k["cost_micro_usd"]) for k in body["top_keys"]] == [("k1", 900), ("k2", 150)]
    everything = await api.client.get(
        f"/analytics/v1/orgs/{ORG}/usage/summary",
        params={"period": "total"},
        headers=token({ORG: "owner"}),
    )
    assert everything.json()["totals"]["cost_micro_usd"] == 6050


async def test_access_is_by_org_membership(api: Harness) -> None:
    await api.publish([usage_event(ORG)])
    path = f"/analytics/v1/orgs/{ORG}/usage"
    missing = await api.client.get(path, params=window())
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_token"
    forged = await api.client.get(path, params=window(), headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401
    other_org = await api.client.get(path, params=window(), headers=token({"org-other": "owner"}))
    assert other_org.status_code == 404
    assert other_org.json()["error"]["code"] == "org_not_found"
    admin = await api.client.get(path, params=window(), headers=token({}, platform_admin=True))
    assert admin.status_code == 200 and admin.json()["data"][0]["requests"] == 1


async def test_bad_windows_are_invalid_requests(api: Harness) -> None:
    path = f"/analytics/v1/orgs/{ORG}/usage"
    headers = token({ORG: "admin"})
    reversed_window = {"start": window()["end"], "end": window()["start"]}
    response = await api.client.get(path, params=reversed_window, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["param"] == "start"
    too_fine = {**window(hours=24 * 30), "bucket": "minute"}
    response = await api.client.get(path, params=too_fine, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["param"] == "bucket"
    response = await api.client.get(path, params={"bucket": "week"}, headers=headers)
    assert response.status_code == 400
