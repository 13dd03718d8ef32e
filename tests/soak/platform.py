"""The `make up` topology for the soak: the three services as separate processes against
real Postgres, Redis and RabbitMQ, every consumer on, started with the same commands as
infra/local/up.sh (`aistrale-<service> migrate`, then `serve --no-migrate`).

Postgres, Redis, RabbitMQ and user-org are reached through TCP proxies in processes of their own, so
a fault test can cut one without stopping the shared servers. The upstream is the router's
fake vLLM, also in its own process. Each run has its own databases, Redis prefix,
exchanges and queues, and removes them afterwards.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url

from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.settings import ServiceSettings
from aistrale_router.settings import Settings as RouterSettings
from aistrale_testkit.fixtures import Infra, admin_execute, delete_redis_keys
from aistrale_testkit.processes import ServiceProcess, own_environment, python_module_argv
from aistrale_testkit.proxy_process import ProxyProcess, proxy_process
from aistrale_testkit.rabbit import delete_queues_sync, queues_for_prefix
from aistrale_testkit.tcp_proxy import free_port
from aistrale_userorg.settings import Settings as UserOrgSettings

SERVICES = ("user-org", "api-router", "analytics")  # up.sh's order: user-org first
SETTINGS: dict[str, type[ServiceSettings]] = {
    "user-org": UserOrgSettings,
    "api-router": RouterSettings,
    "analytics": AnalyticsSettings,
}


def service_env(service: str, env: dict[str, str]) -> dict[str, str]:
    """up.sh gives each process only its own part of the shared environment."""
    others = [cls for name, cls in SETTINGS.items() if name != service]
    return own_environment(env, SETTINGS[service], others)


ROOT = Path(__file__).resolve().parents[2]
PRICED = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 2_000_000}
FREE = {"input_micro_usd_per_mtok": 0, "output_micro_usd_per_mtok": 0}


@dataclass(frozen=True)
class Timers:
    """The design's timers, shortened so that a short soak still outlives each of them."""

    lease_ttl_s: float = 6.0
    lease_idle_s: float = 2.0
    key_cache_ttl_s: float = 3.0
    reservation_ttl_s: int = 60
    reconcile_s: float = 5.0

    def env(self) -> dict[str, str]:
        return {
            "AISTRALE_BUDGET_LEASE_TTL_S": str(self.lease_ttl_s),
            "AISTRALE_BUDGET_LEASE_IDLE_S": str(self.lease_idle_s),
            "AISTRALE_KEY_CACHE_TTL_S": str(self.key_cache_ttl_s),
            "AISTRALE_RESERVATION_TTL_S": str(self.reservation_ttl_s),
            "AISTRALE_RECONCILE_INTERVAL_S": str(self.reconcile_s),
        }


@dataclass
class Platform:
    workdir: Path
    run: str
    env: dict[str, str]
    services: dict[str, ServiceProcess]
    proxies: dict[str, ProxyProcess]
    upstream: ServiceProcess
    admin_email: str
    admin_password: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def router(self) -> ServiceProcess:
        return self.services["api-router"]

    @property
    def userorg(self) -> ServiceProcess:
        return self.services["user-org"]

    @property
    def analytics(self) -> ServiceProcess:
        return self.services["analytics"]

    @property
    def redis_prefix(self) -> str:
        return self.env["AISTRALE_REDIS_PREFIX"]

    @property
    def queue_prefix(self) -> str:
        return self.env["AISTRALE_QUEUE_PREFIX"]

    def usage_queues(self) -> list[str]:
        return [f"{self.queue_prefix}analytics.usage", f"{self.queue_prefix}user-org.key-last-used"]


def _db(run: str, service: str) -> str:
    return f"aistrale_soak_{run}_{service.replace('-', '_')}"


def _models(path: Path, upstream: str) -> Path:
    def model(name: str, pricing: dict[str, int]) -> dict[str, object]:
        deployment = {"provider": "vllm", "base_url": f"{upstream}/v1", "model": "fake-chat"}
        return {"name": name, "deployments": [deployment], "pricing": pricing}

    catalog = {"models": [model("soak-chat", PRICED), model("soak-free", FREE)]}
    path.write_text(yaml.safe_dump(catalog))
    return path


def _env(
    infra: Infra, workdir: Path, run: str, ports: dict[str, int], proxies: dict[str, ProxyProcess]
) -> dict[str, str]:
    redis = urlsplit(infra.redis_url)
    amqp = urlsplit(infra.amqp_url)
    postgres = make_url(infra.postgres_url).set(host="127.0.0.1", port=proxies["postgres"].port)
    databases = {
        f"AISTRALE_{svc.upper().replace('-', '_')}_DATABASE_URL": (
            postgres.set(database=_db(run, svc)).render_as_string(hide_password=False)
        )
        for svc in SERVICES
    }
    return {
        **databases,
        "AISTRALE_REDIS_URL": f"redis://127.0.0.1:{proxies['redis'].port}{redis.path or '/0'}",
        "AISTRALE_AMQP_URL": (
            f"amqp://{amqp.username}:{amqp.password}@127.0.0.1:{proxies['amqp'].port}/"
        ),
        "AISTRALE_USER_ORG_URL": f"http://127.0.0.1:{proxies['user-org'].port}",
        "AISTRALE_REDIS_PREFIX": f"aistrale-soak:{run}:",
        "AISTRALE_USAGE_EXCHANGE": f"soak-{run}.usage",
        "AISTRALE_CONTROL_EXCHANGE": f"soak-{run}.control",
        "AISTRALE_QUEUE_PREFIX": f"soak-{run}.",
        "AISTRALE_DATA_DIR": str(workdir / "data"),  # shared: the services agree on secrets
        "AISTRALE_LOG_LEVEL": "WARNING",
        "AISTRALE_LOCAL_MODEL": "0",
    }


@contextlib.contextmanager
def _leaves_nothing(infra: Infra, run: str, env: dict[str, str]) -> Iterator[None]:
    try:
        yield
    finally:
        delete_queues_sync(infra.amqp_url, *queues_for_prefix(env["AISTRALE_QUEUE_PREFIX"]))
        delete_redis_keys(infra.redis_url, env["AISTRALE_REDIS_PREFIX"])
        for service in SERVICES:
            admin_execute(
                infra.postgres_url, f'DROP DATABASE IF EXISTS "{_db(run, service)}" WITH (FORCE)'
            )


def _migrate(env: dict[str, str], workdir: Path) -> None:
    import os
    import subprocess

    full = {**os.environ, **env}
    urls = [env[f"AISTRALE_{svc.upper().replace('-', '_')}_DATABASE_URL"] for svc in SERVICES]
    creator = [sys.executable, str(ROOT / "infra/local/create_databases.py"), *urls]
    subprocess.run(creator, check=True, env=full)
    with (workdir / "migrate.log").open("ab") as log:
        for service in SERVICES:
            argv = python_module_argv(f"aistrale-{service}", "migrate")
            own = service_env(service, full)
            subprocess.run(argv, check=True, env=own, stdout=log, stderr=log)


@contextlib.contextmanager
def platform(
    infra: Infra, workdir: Path, timers: Timers, extra: dict[str, str] | None = None
) -> Iterator[Platform]:
    """The platform, up and ready; `extra` adds environment for every service."""
    workdir.mkdir(parents=True, exist_ok=True)
    run = uuid.uuid4().hex[:8]
    email, password = "soak@example.com", secrets.token_urlsafe(18)
    redis, amqp = urlsplit(infra.redis_url), urlsplit(infra.amqp_url)
    postgres = make_url(infra.postgres_url)
    with contextlib.ExitStack() as stack:
        proxies = {
            "redis": stack.enter_context(proxy_process("127.0.0.1", redis.port or 6379)),
            "amqp": stack.enter_context(proxy_process("127.0.0.1", amqp.port or 5672)),
            "postgres": stack.enter_context(
                proxy_process(postgres.host or "127.0.0.1", postgres.port or 5432)
            ),
        }
        ports = {service: free_port() for service in SERVICES}
        proxies["user-org"] = stack.enter_context(proxy_process("127.0.0.1", ports["user-org"]))
        up_port = free_port()
        upstream_argv = [sys.executable, "-m", "aistrale_testkit.router.fake_vllm_server"]
        upstream = ServiceProcess(
            [*upstream_argv, str(up_port)], up_port, {}, log_path=workdir / "upstream.log"
        )
        stack.callback(upstream.terminate)
        upstream.start()
        env = _env(infra, workdir, run, ports, proxies)
        env.update(timers.env())
        env["AISTRALE_MODELS_FILE"] = str(_models(workdir / "models.yaml", upstream.url))
        env["AISTRALE_ADMIN_EMAIL"], env["AISTRALE_ADMIN_PASSWORD"] = email, password
        env.update(extra or {})
        stack.enter_context(_leaves_nothing(infra, run, env))  # after the services stopped
        _migrate(env, workdir)
        services = {}
        for service in SERVICES:
            argv = python_module_argv(
                f"aistrale-{service}", "serve", "--no-migrate", "--port", str(ports[service])
            )
            process = ServiceProcess(
                argv,
                ports[service],
                service_env(service, env),
                log_path=workdir / f"{service}.log",
                ready_path="/ready",
            )
            stack.callback(process.terminate)
            services[service] = process.start()
        yield Platform(workdir, run, env, services, proxies, upstream, email, password)
