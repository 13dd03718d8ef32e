"""What the router's process tests share: the test catalog, handles on the running pieces,
and the usage events seen on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from aistrale_common.events.port import Message
from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.events.usage_batch import unpack
from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import (
    ServiceProcess,
    python_module_argv,
    running_service,
)
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.tcp_proxy import TcpProxy, free_port

PRICING = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 2_000_000}
KEY_MODELS = [
    "chat-model",
    "embed-model",
    "broken-model",
    "slow-model",
    "flaky-model",
    "adapted-model",
]


def catalog_for(vllm_url: str) -> dict[str, object]:
    def model(
        name: str, upstream: str, provider: str = "vllm", **extra: object
    ) -> dict[str, object]:
        deployment = {"provider": provider, "base_url": f"{vllm_url}/v1", "model": upstream}
        return {"name": name, "deployments": [deployment], "pricing": PRICING, **extra}

    return {
        "models": [
            model("chat-model", "fake-chat", aliases=["gpt-5", "claude-sonnet-4-5"]),
            model("embed-model", "fake-embed", endpoints=["embeddings"]),
            model("broken-model", "fake-500"),
            model("slow-model", "fake-slow"),
            model("secret-model", "fake-chat"),
            model("flaky-model", "fake-500", fallbacks=["chat-model"]),
            # "openai" goes through the provider adapter path (providers/openai_compat.py).
            model("adapted-model", "fake-chat", provider="openai"),
        ]
    }


@dataclass
class UsageEvents:
    events: list[UsageEventV1] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)  # event id -> as published

    async def on_message(self, message: Message) -> None:
        for item in unpack(message):  # one event, or a batch of one org's
            event = UsageEventV1.model_validate(item)
            self.bodies[str(event.event_id)] = orjson.dumps(item)
            self.events.append(event)

    async def wait_for(self, request_id: str, timeout_s: float = 10.0) -> UsageEventV1:
        async with asyncio.timeout(timeout_s):
            while True:
                found = [e for e in self.events if e.request_id == request_id]
                if found:
                    await asyncio.sleep(0.2)  # a duplicate would arrive about now
                    found = [e for e in self.events if e.request_id == request_id]
                    assert len(found) == 1, f"one event per request, got {found}"
                    return found[0]
                await asyncio.sleep(0.02)


@dataclass
class Router:
    url: str
    vllm: FakeVllm
    userorg: FakeUserOrg
    userorg_proxy: TcpProxy
    control_exchange: str
    usage: UsageEvents
    models_file: Path

    def new_key(self, **fields: object) -> str:
        token = "sk-test-" + secrets.token_hex(16)
        record = {
            "key_id": "key_" + secrets.token_hex(4),
            "org_id": "org_test",
            "status": "active",
            "allowed_models": KEY_MODELS,
            **fields,
        }
        self.userorg.add_key(token, KeyRecord.model_validate(record))
        return token


@contextlib.contextmanager
def router_process(
    infra: Infra,
    tmp: Path,
    userorg_url: str,
    service_token: str,
    models_file: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """The router as a real process on the run's exchanges and Redis prefix; yields its URL.
    `extra_env`: more variables (platform provider keys, say)."""
    with router_service(infra, tmp, userorg_url, service_token, models_file, extra_env) as running:
        yield running.url


@contextlib.contextmanager
def router_service(
    infra: Infra,
    tmp: Path,
    userorg_url: str,
    service_token: str,
    models_file: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[ServiceProcess]:
    """`router_process`, with the process itself (for tests that signal it)."""
    port = free_port()
    queue_prefix = infra.queue_prefix(f"router-{secrets.token_hex(3)}")
    env = {
        "AISTRALE_DATA_DIR": str(tmp),
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_QUEUE_PREFIX": queue_prefix,
        "AISTRALE_REDIS_URL": infra.redis_url,
        "AISTRALE_REDIS_PREFIX": f"{infra.redis_prefix}router-{secrets.token_hex(3)}:",
        "AISTRALE_CONTROL_EXCHANGE": infra.name("control"),
        "AISTRALE_USAGE_EXCHANGE": infra.name("usage"),
        "AISTRALE_USER_ORG_URL": userorg_url,
        "AISTRALE_SERVICE_TOKEN": service_token,
        "AISTRALE_MODELS_FILE": str(models_file),
        "AISTRALE_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "1",
        "AISTRALE_UPSTREAM_MAX_ATTEMPTS": "2",
        "AISTRALE_UPSTREAM_BACKOFF_S": "0.01",
        "AISTRALE_KEY_CACHE_TTL_S": "30",  # long: revocation must come from control events
        "AISTRALE_KEY_STALE_GRACE_S": "60",
        "AISTRALE_HEALTH_PROBE_INTERVAL_S": "0.5",
        "AISTRALE_CATALOG_POLL_S": "0.2",
        "AISTRALE_BREAKER_FAILURES": "1000",
        "AISTRALE_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    argv = python_module_argv("aistrale-api-router", "serve", "--port", str(port))
    with running_service(argv, port, env, log_path=tmp / "router.log") as running:
        yield running
