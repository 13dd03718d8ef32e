"""The processes a bench run measures: mock upstream, router (with a fake user-org), nginx."""

from __future__ import annotations

import contextlib
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from aistrale_common.testing.fixtures import delete_redis_keys
from aistrale_common.testing.processes import python_module_argv, service_process
from aistrale_common.testing.rabbit import delete_queues_sync, queues_for_prefix
from aistrale_common.testing.tcp_proxy import free_port
from aistrale_router.keys.record import BudgetRule, KeyRecord
from aistrale_router.testing.fake_userorg import FakeUserOrg
from aistrale_router.testing.server import serve_in_thread
from bench.cpu import pids_matching
from bench.nginx import run_nginx

BENCH_KEY = "sk-bench-" + uuid.uuid4().hex
BARE_KEY = "sk-bench-bare-" + uuid.uuid4().hex  # no limits, no budget: the router's own cost
# Limits and a budget that never bind, so that every admission check runs in full.
BENCH_RECORD = KeyRecord(
    key_id="bench",
    org_id="bench",
    status="active",
    rpm_limit=10**9,
    tpm_limit=10**12,
    budgets=[BudgetRule(scope="org", scope_id="bench", limit_micro_usd=10**15, period="month")],
)


@dataclass(frozen=True)
class Stack:
    upstream: str
    nginx: str
    router: str
    features: dict[str, str]
    pids: dict[str, list[int]]  # the proxy's processes per target, for CPU accounting


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.3):
        return True
    return False


def _router_env(
    workdir: Path, upstream: str, userorg: str, token: str, embedded: bool
) -> dict[str, str]:
    models = workdir / "models.yaml"
    deployment = {"provider": "vllm", "base_url": upstream + "/v1", "model": "bench-upstream"}
    pricing = {"input_micro_usd_per_mtok": 150_000, "output_micro_usd_per_mtok": 600_000}
    catalog = {"models": [{"name": "bench", "deployments": [deployment], "pricing": pricing}]}
    models.write_text(yaml.safe_dump(catalog))
    run = uuid.uuid4().hex[:8]
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
    # Every feature on: the production adapters when their servers answer here.
    if not embedded and _answers(5672):
        env["AISTRALE_AMQP_URL"] = "amqp://guest:guest@127.0.0.1:5672/"
    if not embedded and _answers(6379):
        env["AISTRALE_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    return env


@contextlib.contextmanager
def _leaves_nothing(env: dict[str, str]) -> Iterator[None]:
    """The run's queues and Redis counters go after it (`total` spend counters never
    expire; a queue left with 10^4 events slows every later publish)."""
    try:
        yield
    finally:
        if "AISTRALE_AMQP_URL" in env:
            queues = queues_for_prefix(env["AISTRALE_QUEUE_PREFIX"])
            delete_queues_sync(env["AISTRALE_AMQP_URL"], *queues)
        if "AISTRALE_REDIS_URL" in env:
            delete_redis_keys(env["AISTRALE_REDIS_URL"], env["AISTRALE_REDIS_PREFIX"])


@contextlib.contextmanager
def bench_stack(
    workdir: Path, *, profile: Path | None = None, embedded: bool = False
) -> Iterator[Stack]:
    token = uuid.uuid4().hex
    userorg = FakeUserOrg(service_token=token)
    userorg.add_key(BENCH_KEY, BENCH_RECORD)
    userorg.add_key(BARE_KEY, KeyRecord(key_id="bare", org_id="bench", status="active"))
    up_port, router_port, nginx_port = free_port(), free_port(), free_port()
    upstream_argv = [sys.executable, "-m", "uvicorn", "bench.mock_upstream:app"]
    upstream_argv += ["--port", str(up_port), "--log-level", "warning", "--no-access-log"]
    router_argv = python_module_argv("aistrale-api-router", "serve", "--port", str(router_port))
    if profile is not None:
        router_argv = [sys.executable, "-m", "bench.profile_router", str(profile), *router_argv[1:]]
    with (
        serve_in_thread(userorg.app) as userorg_url,
        service_process(upstream_argv, up_port, {}, log_path=workdir / "upstream.log") as up,
        run_nginx(workdir, nginx_port, up_port) as nginx,
    ):
        env = _router_env(workdir, up, userorg_url, token, embedded)
        with (
            _leaves_nothing(env),  # after the router has stopped
            service_process(router_argv, router_port, env, log_path=workdir / "router.log") as r,
        ):
            features = {
                "key_auth": "sha256 + cache, fake user-org",
                "usage_events": "RabbitMQ" if "AISTRALE_AMQP_URL" in env else "in-memory bus",
                "limits_and_budget": "Redis" if "AISTRALE_REDIS_URL" in env else "in-process",
            }
            pids = {
                "direct": pids_matching("bench.mock_upstream:app", f"--port {up_port}"),
                "nginx": pids_matching("nginx: worker process"),
                "router": pids_matching("serve --port", str(router_port)),
                "router-bare": pids_matching("serve --port", str(router_port)),
            }
            yield Stack(up, nginx, r, features, pids)
