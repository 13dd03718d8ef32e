"""Router processes for the admission end-to-end tests, built from the router's own test
helpers (fake vLLM, fake user-org, harness catalog); several start in parallel."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, stop_process
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import KEY_MODELS, catalog_for
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import TcpProxy, free_port, tcp_proxy


@dataclass
class Fleet:
    """The fakes every router of a test module shares, and how routers reach them."""

    tmp: Path
    infra: Infra
    vllm: FakeVllm
    userorg: FakeUserOrg
    userorg_url: str
    models_file: Path
    prefix: str
    proxy: TcpProxy  # in front of Redis, for the routers that must lose it

    @property
    def control_exchange(self) -> str:
        return self.infra.name("control")

    def redis_proxy(self) -> TcpProxy:
        return self.proxy

    def env(self, name: str, *, redis_via_proxy: bool, amqp: bool) -> dict[str, str]:
        redis_url = self.infra.redis_url
        if redis_via_proxy:
            redis_url = f"redis://127.0.0.1:{self.proxy.port}/0"
        # Without AMQP a router uses its in-process bus: only the control-event test needs
        # RabbitMQ, so the others do not depend on it.
        bus = {}
        if amqp:
            bus = {
                "AISTRALE_AMQP_URL": self.infra.amqp_url,
                "AISTRALE_QUEUE_PREFIX": self.infra.queue_prefix(f"adm-{name}"),
            }
        return {
            **bus,
            "AISTRALE_DATA_DIR": str(self.tmp / name),
            "AISTRALE_REDIS_URL": redis_url,
            "AISTRALE_REDIS_PREFIX": self.prefix,
            "AISTRALE_CONTROL_EXCHANGE": self.control_exchange,
            "AISTRALE_USAGE_EXCHANGE": self.infra.name("usage"),
            "AISTRALE_USER_ORG_URL": self.userorg_url,
            "AISTRALE_SERVICE_TOKEN": self.userorg.service_token,
            "AISTRALE_MODELS_FILE": str(self.models_file),
            "AISTRALE_LOG_LEVEL": "WARNING",
            "AISTRALE_BUDGET_REDIS_RETRY_S": "1",
            # The test machine is CPU-starved: slow is not down (the policy tests cut Redis).
            "AISTRALE_BUDGET_REDIS_TIMEOUT_S": "5",
        }

    def new_key(self, **fields: Any) -> tuple[str, KeyRecord]:
        token = "sk-test-" + secrets.token_hex(16)
        record = KeyRecord.model_validate(
            {
                "key_id": "key_" + secrets.token_hex(4),
                "status": "active",
                "allowed_models": KEY_MODELS,
                **fields,
            }
        )
        self.userorg.add_key(token, record)
        return token, record


@dataclass(frozen=True)
class RunningRouter:
    url: str
    pid: int


@contextlib.contextmanager
def open_fleet(infra: Infra, tmp: Path) -> Iterator[Fleet]:
    vllm = FakeVllm()
    userorg = FakeUserOrg(service_token=secrets.token_urlsafe(24))
    redis = urlsplit(infra.redis_url)
    with (
        serve_in_thread(vllm.app) as vllm_url,
        serve_in_thread(userorg.app) as userorg_url,
        tcp_proxy(redis.hostname or "127.0.0.1", redis.port or 6379) as proxy,
    ):
        models_file = tmp / "models.yaml"
        models_file.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        prefix = f"{infra.redis_prefix}e2e:"
        yield Fleet(tmp, infra, vllm, userorg, userorg_url, models_file, prefix, proxy)


@contextlib.contextmanager
def routers(
    fleet: Fleet,
    specs: Mapping[str, Mapping[str, str]],
    *,
    redis_via_proxy: bool = False,
    amqp: bool = False,
) -> Iterator[dict[str, RunningRouter]]:
    """Starts one router process per spec (name -> extra env) at once; SIGTERM at exit."""
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name, extra in specs.items():
            port = free_port()
            argv = python_module_argv("aistrale-api-router", "serve", "--port", str(port))
            env = {**os.environ, **fleet.env(name, redis_via_proxy=redis_via_proxy, amqp=amqp)}
            env.update(extra)
            with (fleet.tmp / f"{name}.log").open("ab") as log:
                proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
            procs[name] = (proc, port)
        for name, (proc, port) in procs.items():
            _wait_healthy(proc, port, fleet.tmp / f"{name}.log")
        yield {
            n: RunningRouter(f"http://127.0.0.1:{p}", proc.pid) for n, (proc, p) in procs.items()
        }
    finally:
        for proc, _ in procs.values():
            stop_process(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"router exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"router on {port} not healthy:\n{_tail(log)}")


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-40:])
