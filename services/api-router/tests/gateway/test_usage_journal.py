"""A router killed with usage events it had not made durable yet loses none of them: each
is in its journal before the client has the answer (metering/journal.py), and the next
start moves the journal into the outbox, from where they are published."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

import openai
import pytest
import yaml

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import KEY_MODELS, UsageEvents, catalog_for, router_service
from aistrale_testkit.router.sdk import open_sdk
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import tcp_proxy

REQUESTS = 12


async def test_a_killed_router_loses_no_usage_event(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, usage_events: UsageEvents
) -> None:
    tmp = tmp_path_factory.mktemp("journal")
    vllm, userorg = FakeVllm(), FakeUserOrg(service_token=secrets.token_urlsafe(24))
    key = "sk-test-" + secrets.token_hex(16)
    record = {"key_id": "key_journal", "org_id": "org_journal", "status": "active"}
    userorg.add_key(key, KeyRecord.model_validate({**record, "allowed_models": KEY_MODELS}))
    amqp = urlsplit(infra.amqp_url)
    with (
        serve_in_thread(vllm.app) as vllm_url,
        serve_in_thread(userorg.app) as userorg_url,
        tcp_proxy("127.0.0.1", amqp.port or 5672) as broker,
    ):
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        env = {
            "AISTRALE_AMQP_URL": f"amqp://{amqp.username}:{amqp.password}@127.0.0.1:{broker.port}/"
        }
        with router_service(infra, tmp, userorg_url, userorg.service_token, models, env) as router:
            broker.cut()  # nothing can be confirmed: every event stays with the router
            sdk = open_sdk(router.url + "/v1", key, timeout=30)
            ids = []
            for i in range(REQUESTS):
                raw = await sdk.chat.completions.with_raw_response.create(
                    model="chat-model",
                    messages=[{"role": "user", "content": f"hi {i}"}],
                    stream=i % 2 == 1,
                )
                parsed = raw.parse()
                if isinstance(parsed, openai.AsyncStream):
                    async for _ in parsed:
                        pass
                ids.append(raw.headers["x-request-id"])
            router.kill()  # SIGKILL: no shutdown, no flush
            broker.restore()
            router.start()  # the same data dir: its journal is found
            for request_id in ids:
                event = await usage_events.wait_for(request_id, timeout_s=30)
                assert event.status == 200
            await asyncio.sleep(0.5)
            assert not list((tmp / "usage-journal").glob("*.usage-journal"))[1:]  # only its own
