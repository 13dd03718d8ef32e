"""Prompt templates and guardrails on both databases (the embedded SQLite of `make run`
and Postgres): versions, archive, the router's internal lookups, and the control events
each write publishes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aistrale_common.events import MemoryEventBus, Message, Subscription
from aistrale_common.events.schemas import ControlEvent
from aistrale_testkit.userorg import Running, StartApp

TEMPLATE = {"name": "t", "messages": [{"role": "system", "content": "Hi {{ who }}"}]}


@pytest.fixture(params=["postgres", "sqlite"])
async def app(
    request: pytest.FixtureRequest, start_app: StartApp, pg_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Running, list[ControlEvent]]]:
    bus = MemoryEventBus()
    seen: list[ControlEvent] = []

    async def on_message(message: Message) -> None:
        seen.append(ControlEvent.model_validate_json(message.body))

    url = pg_url if request.param == "postgres" else f"sqlite+aiosqlite:///{tmp_path}/u.db"
    running = await start_app(url, bus=bus, amqp_url=None)
    await bus.subscribe(Subscription(running.settings.control_exchange, ("#",)), on_message)
    yield running, seen


async def test_versions_lookups_and_events(app: tuple[Running, list[ControlEvent]]) -> None:
    running, seen = app
    headers, client = await running.root(), running.client
    service = {"authorization": f"Bearer {running.settings.secret('service_token')}"}
    org_id = await running.new_org("gov")
    base = f"/admin/v1/orgs/{org_id}/prompts"
    created = (await client.post(base, json=TEMPLATE, headers=headers)).json()
    assert created["variables"] == ["who"] and created["version"] == 1
    url = f"{base}/{created['id']}"
    update = {"messages": [{"role": "user", "content": "{{a}}{{b}}"}]}
    assert (await client.put(url, json=update, headers=headers)).json()["version"] == 2

    internal = f"/internal/v1/orgs/{org_id}/prompts/{created['id']}"
    latest = (await client.get(internal, headers=service)).json()
    assert latest["version"] == 2 and latest["variables"] == ["a", "b"]
    assert (await client.get(internal, params={"version": 1}, headers=service)).json()[
        "messages"
    ] == TEMPLATE["messages"]
    assert (await client.get(internal, params={"version": 3}, headers=service)).status_code == 404
    assert (await client.get(internal, headers=headers)).status_code == 401  # not an admin's

    guard = f"/admin/v1/orgs/{org_id}/guardrails"
    assert (await client.get(guard, headers=headers)).json()["pii"]["action"] == "off"
    for action in ("redact", "block"):
        body = {"pii": {"action": action, "entities": ["US_SSN"]}}
        assert (await client.put(guard, json=body, headers=headers)).status_code == 200
    bad = {"pii": {"action": "maybe"}}
    assert (await client.put(guard, json=bad, headers=headers)).status_code == 422
    shown = (await client.get(f"/internal/v1/orgs/{org_id}/guardrails", headers=service)).json()
    assert shown["pii"] == {"action": "block", "entities": ["US_SSN"], "outputs": False}

    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(internal, headers=service)).status_code == 404  # archived
    for _ in range(100):
        if len(seen) >= 5:
            break
        await asyncio.sleep(0.05)
    governance = [e for e in seen if e.org_id == org_id and e.type != "org.updated"]
    assert [e.type for e in governance] == [
        "prompt.updated",
        "prompt.updated",
        "guardrails.updated",
        "guardrails.updated",
        "prompt.updated",
    ]
    assert {e.prompt_id for e in governance if e.type == "prompt.updated"} == {created["id"]}
