"""Exports: an asynchronous job ends in a URL; S3 tested against moto's real server."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from asgi_lifespan import LifespanManager
from moto.server import ThreadedMotoServer

from aistrale_analytics.app import create_app
from aistrale_analytics.ingest.service import UsageStore
from aistrale_analytics.settings import Settings
from aistrale_common.auth.admin_token import Role
from aistrale_common.db import Database
from aistrale_common.events import MemoryEventBus
from aistrale_testkit.analytics.factories import BASE_TIME, random_events
from aistrale_testkit.tcp_proxy import free_port
from services.analytics.tests.authority import SECRET, SERVICE_TOKEN, authority
from services.analytics.tests.authority import token as token_for

ORG = "org-export"


def token(role: Role) -> dict[str, str]:
    return token_for({ORG: role})


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_settings(endpoint: str, bucket: str) -> dict[str, Any]:
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)  # fmt: skip
    return {
        "exports_s3_bucket": bucket,
        "exports_s3_endpoint_url": endpoint,
        "exports_s3_access_key_id": "testing",
        "exports_s3_secret_access_key": "testing",
    }


@pytest.fixture(params=["s3", "local"])
async def client(
    request: pytest.FixtureRequest, db: Database, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[httpx.AsyncClient]:
    extra = s3_settings(s3_endpoint, f"exports-{free_port()}") if request.param == "s3" else {}
    settings = Settings(
        database_url=db.url, jwt_secret=SECRET, data_dir=tmp_path, reconcile_enabled=False,
        consume_usage=False, service_token=SERVICE_TOKEN, **extra,
    )  # fmt: skip
    async with authority(tmp_path, (ORG,)) as userorg:
        app = create_app(settings, bus=MemoryEventBus(), userorg_transport=userorg)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://analytics") as c:
                yield c


async def finished(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            body: dict[str, Any] = (await client.get(location, headers=token("owner"))).json()
            if body["status"] in ("succeeded", "failed"):
                return body
            await asyncio.sleep(0.05)


async def fetch(client: httpx.AsyncClient, url: str) -> str:
    if url.startswith("/"):  # the embedded default: served by the API, behind the same auth
        response = await client.get(url, headers=token("billing"))
    else:
        async with httpx.AsyncClient() as outside:  # a presigned URL needs no credentials
            response = await outside.get(url)
    assert response.status_code == 200, response.text
    return response.text


async def test_export_writes_the_range_as_csv_and_ends_in_a_url(
    client: httpx.AsyncClient, db: Database
) -> None:
    events = random_events(250, ORG)
    await UsageStore(db).ingest(events)
    start, end = BASE_TIME + timedelta(hours=6), BASE_TIME + timedelta(hours=30)
    inside = sorted(str(e.event_id) for e in events if start <= e.occurred_at < end)
    path = f"/analytics/v1/orgs/{ORG}/exports"
    spec = {"start": start.isoformat(), "end": end.isoformat(), "format": "csv"}
    created = await client.post(path, json=spec, headers=token("billing"))
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "pending"
    done = await finished(client, f"{path}/{created.json()['id']}")
    assert done["status"] == "succeeded", done
    assert done["rows"] == len(inside)
    rows = list(csv.DictReader(io.StringIO(await fetch(client, done["url"]))))
    assert sorted(r["event_id"] for r in rows) == inside
    by_id = {str(e.event_id): e for e in events}
    assert all(int(r["cost_micro_usd"]) == by_id[r["event_id"]].cost_micro_usd for r in rows)


async def test_exports_need_an_exporting_role(client: httpx.AsyncClient) -> None:
    path = f"/analytics/v1/orgs/{ORG}/exports"
    spec = {"start": BASE_TIME.isoformat(), "end": (BASE_TIME + timedelta(hours=1)).isoformat()}
    viewer = await client.post(path, json=spec, headers=token("viewer"))
    assert viewer.status_code == 403
    backwards = {"start": spec["end"], "end": spec["start"]}
    assert (await client.post(path, json=backwards, headers=token("owner"))).status_code == 400
    unknown = await client.get(
        f"{path}/00000000-0000-0000-0000-000000000000", headers=token("owner")
    )
    assert unknown.status_code == 404


BAD_IDS = ("%00", "a%00b", "x" * 65, "%0A", "..%2F..%2Fetc")


async def test_bad_path_ids_are_client_errors_in_openai_shape(client: httpx.AsyncClient) -> None:
    base = f"/analytics/v1/orgs/{ORG}/exports"
    paths = [f"{base}/{bad}" for bad in BAD_IDS] + [f"{base}/{bad}/download" for bad in BAD_IDS]
    paths += [f"/analytics/v1/orgs/{bad}/usage/summary" for bad in BAD_IDS]
    for path in paths:
        answer = await client.get(path, headers=token("owner"))
        assert answer.status_code in (400, 404), (path, answer.text)
        assert set(answer.json()["error"]) >= {"message", "type", "param", "code"}
