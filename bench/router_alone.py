"""The diagnostic row: the router alone, with a fake user-org (in this process) and no
consumers, usage events to RabbitMQ and limits/budget in Redis when they answer here.

No user runs this; it isolates the router's own cost from the rest of the platform (the
`make run` and `make up` rows). Its key has RPM/TPM limits and a budget that never bind.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

from aistrale_router.keys.record import BudgetRule, KeyRecord
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port
from bench.catalog import write_models
from bench.cleanup import delete_broker_and_redis_state
from bench.cpu import matching
from bench.target import COMPLETIONS, Target

BENCH_KEY = "sk-bench-" + uuid.uuid4().hex
BENCH_RECORD = KeyRecord(
    key_id="bench",
    org_id="bench",
    status="active",
    rpm_limit=10**9,
    tpm_limit=10**12,
    budgets=[BudgetRule(scope="org", scope_id="bench", limit_micro_usd=10**15, period="month")],
)
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.3):
        return True
    return False


def _router_env(
    workdir: Path, upstream: str, userorg: str, token: str, cache_ttl_s: float | None
) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    models = write_models(workdir / "models.yaml", upstream, cache_ttl_s)
    env = {
        "AISTRALE_DATA_DIR": str(workdir / "router"),
        "AISTRALE_MODELS_FILE": str(models),
        "AISTRALE_USER_ORG_URL": userorg,
        "AISTRALE_SERVICE_TOKEN": token,
        "AISTRALE_LOG_LEVEL": "WARNING",
        "AISTRALE_CONTROL_EXCHANGE": f"bench-{run}.control",
        "AISTRALE_USAGE_EXCHANGE": f"bench-{run}.usage",
        "AISTRALE_REDIS_PREFIX": f"aistrale-bench:{run}:",
        # Its own queues, deleted after the run: a durable queue left with 10^4 events in
        # the broker slows every later publish and holds the broker's file handles.
        "AISTRALE_QUEUE_PREFIX": f"bench-{run}.",
    }
    if _answers(5672):
        env["AISTRALE_AMQP_URL"] = AMQP_URL
    if _answers(6379):
        env["AISTRALE_REDIS_URL"] = REDIS_URL
    return env


@contextlib.contextmanager
def _leaves_nothing(env: dict[str, str]) -> Iterator[None]:
    try:
        yield
    finally:
        delete_broker_and_redis_state(env)


def router_cached(
    workdir: Path, upstream: str, *, limits: bool = True
) -> contextlib.AbstractContextManager[Target]:
    """The router alone with the model's answer cache on: every measured request is a hit
    (answered from Redis, or in process without it), admitted and metered as usual."""
    return router_alone(workdir, upstream, limits=limits, cache_ttl_s=3600, name="cached")


@contextlib.contextmanager
def router_alone(
    workdir: Path,
    upstream: str,
    *,
    limits: bool = True,
    cache_ttl_s: float | None = None,
    name: str = "router",
) -> Iterator[Target]:
    workdir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    userorg = FakeUserOrg(service_token=token)
    bare = KeyRecord(key_id="bench", org_id="bench", status="active")
    userorg.add_key(BENCH_KEY, BENCH_RECORD if limits else bare)
    port = free_port()
    argv = python_module_argv("aistrale-api-router", "serve", "--port", str(port))
    with serve_in_thread(userorg.app) as userorg_url:
        env = _router_env(workdir, upstream, userorg_url, token, cache_ttl_s)
        with (
            _leaves_nothing(env),  # after the router has stopped
            service_process(argv, port, env, log_path=workdir / "router.log") as base,
        ):
            components = {
                "router": matching("serve --port", str(port)),
                "fake-user-org": lambda: [os.getpid()],
            }
            if "AISTRALE_AMQP_URL" in env:
                components["rabbitmq"] = matching("beam.smp")
            if "AISTRALE_REDIS_URL" in env:
                components["redis"] = matching("redis-server")
            features = {
                "key_auth": "fake user-org (in the bench process)",
                "usage_events": "RabbitMQ, no consumer"
                if "AISTRALE_AMQP_URL" in env
                else "in-memory bus, no consumer",
                "limits_and_budget": "Redis" if "AISTRALE_REDIS_URL" in env else "in-process",
            }
            if cache_ttl_s is not None:
                store = "Redis" if "AISTRALE_REDIS_URL" in env else "in-process"
                features["answer_cache"] = f"every request a hit ({store})"
            auth = f"Bearer {BENCH_KEY}"
            yield Target(name, base + COMPLETIONS, auth, components, None, features)
