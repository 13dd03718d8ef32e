"""Per key and per org queue settings (docs/router.md "Queueing") on both databases: set on
create and PATCH, validated, audited with their values, and the router's lookup carries the
effective ones (the key's, else its org's, else null)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from aistrale_common.events import MemoryEventBus
from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.userorg import Running, StartApp


@pytest.fixture(params=["postgres", "sqlite"])
async def app(
    request: pytest.FixtureRequest, start_app: StartApp, pg_url: str, tmp_path: Path
) -> Running:
    if request.param == "postgres":
        return await start_app(pg_url)
    return await start_app(
        f"sqlite+aiosqlite:///{tmp_path}/user-org.db", bus=MemoryEventBus(), amqp_url=None
    )


async def _lookup(app: Running, key: str) -> KeyRecord:
    path = f"/internal/v1/keys/{hashlib.sha256(key.encode()).hexdigest()}"
    response = await app.client.get(path, headers=app.service())
    assert response.status_code == 200, response.text
    return KeyRecord.model_validate_json(response.content)


def _queue(record: KeyRecord) -> tuple[float | None, int | None]:
    return record.queue_wait_s, record.queue_priority


async def _audit(app: Running, action: str, org_id: str) -> dict[str, Any]:
    rows = await app.client.get(
        "/admin/v1/audit", params={"org_id": org_id, "action": action}, headers=await app.root()
    )
    details: dict[str, Any] = rows.json()["data"][0]["details"]
    return details


async def test_the_lookup_carries_the_keys_else_the_orgs_settings(app: Running) -> None:
    org_id = await app.new_org("queued", queue_wait_s=2.5, queue_priority=3)
    assert await _audit(app, "org.create", org_id) == {"queue_wait_s": 2.5, "queue_priority": 3}
    plain = await app.new_key(org_id)
    assert (plain["queue_wait_s"], plain["queue_priority"]) == (None, None)
    assert _queue(await _lookup(app, plain["key"])) == (2.5, 3)  # inherited from the org
    own = await app.new_key(org_id, queue_wait_s=0, queue_priority=9)
    assert (own["queue_wait_s"], own["queue_priority"]) == (0, 9)
    assert _queue(await _lookup(app, own["key"])) == (0, 9)  # 0 is set, not inherited
    headers = await app.root()
    key_path = f"/admin/v1/orgs/{org_id}/keys/{own['id']}"
    changed = await app.client.patch(key_path, json={"queue_wait_s": 7.5}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["queue_wait_s"], changed.json()["queue_priority"]) == (7.5, 9)
    details = await _audit(app, "key.update", org_id)
    assert details == {"changed": ["queue_wait_s"], "queue_wait_s": 7.5}
    await app.client.patch(key_path, json={"queue_priority": None}, headers=headers)
    assert _queue(await _lookup(app, own["key"])) == (7.5, 3)  # priority back to the org's
    org = await app.client.patch(
        f"/admin/v1/orgs/{org_id}", json={"queue_wait_s": None}, headers=headers
    )
    assert org.status_code == 200 and org.json()["queue_wait_s"] is None, org.text
    assert org.json()["queue_priority"] == 3
    assert await _audit(app, "org.update", org_id) == {
        "changed": ["queue_wait_s"],
        "queue_wait_s": None,
    }
    assert _queue(await _lookup(app, plain["key"])) == (None, 3)
    shown = await app.client.get(key_path, headers=headers)
    assert (shown.json()["queue_wait_s"], shown.json()["queue_priority"]) == (7.5, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("queue_wait_s", -1),
        ("queue_wait_s", 60.5),
        ("queue_wait_s", "soon"),
        ("queue_priority", 10),
        ("queue_priority", -1),
        ("queue_priority", 1.5),
    ],
)
async def test_out_of_range_settings_are_422_with_the_field(
    app: Running, field: str, value: object
) -> None:
    headers = await app.root()
    org_id = await app.new_org("strict")
    key = await app.new_key(org_id)
    attempts = [
        app.client.post("/admin/v1/orgs", json={"name": "x", field: value}, headers=headers),
        app.client.patch(f"/admin/v1/orgs/{org_id}", json={field: value}, headers=headers),
        app.client.post(
            f"/admin/v1/orgs/{org_id}/keys", json={"name": "x", field: value}, headers=headers
        ),
        app.client.patch(
            f"/admin/v1/orgs/{org_id}/keys/{key['id']}", json={field: value}, headers=headers
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 422, response.text
        assert response.json()["error"]["param"] == field
    assert _queue(await _lookup(app, key["key"])) == (None, None)  # nothing was changed
