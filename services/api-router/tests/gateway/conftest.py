"""A running router process with a fake vLLM and a fake user-org (real HTTP, real RabbitMQ)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import yaml

from aistrale_common.events import RabbitEventBus, Subscription
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import Router, UsageEvents, catalog_for, router_process
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import TcpProxy


@pytest.fixture(scope="package")
async def usage_events(infra: Infra) -> AsyncIterator[UsageEvents]:
    bus = await RabbitEventBus.connect(infra.amqp_url)
    collected = UsageEvents()
    await bus.subscribe(Subscription(infra.name("usage"), ("usage.v1.#",)), collected.on_message)
    try:
        yield collected
    finally:
        await bus.close()


@pytest.fixture(scope="package")
def router(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, usage_events: UsageEvents
) -> Iterator[Router]:
    tmp = tmp_path_factory.mktemp("router")
    vllm = FakeVllm(slow_s=3.0)
    token = secrets.token_urlsafe(24)
    userorg = FakeUserOrg(service_token=token)
    with serve_in_thread(vllm.app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        proxy = TcpProxy("127.0.0.1", int(userorg_url.rsplit(":", 1)[1])).start()
        models_file = tmp / "models.yaml"
        models_file.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        userorg_via_proxy = f"http://127.0.0.1:{proxy.port}"
        try:
            with router_process(infra, tmp, userorg_via_proxy, token, models_file) as url:
                control = infra.name("control")
                yield Router(url, vllm, userorg, proxy, control, usage_events, models_file)
        finally:
            proxy.stop()
