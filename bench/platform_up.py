"""The `make up` topology: the three services as separate processes against the real
Postgres, Redis and RabbitMQ, started the way infra/local/up.sh starts them
(create_databases.py, `aistrale-<service> migrate`, `aistrale-<service> serve --no-migrate`).

Each bench run gets its own databases, Redis prefix, exchanges and queue prefix, and
deletes them afterwards (a durable queue left with 10^4 events slows every later publish;
`total` spend counters in Redis never expire).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.settings import ServiceSettings
from aistrale_router.settings import Settings as RouterSettings
from aistrale_testkit.fixtures import admin_execute
from aistrale_testkit.processes import own_environment, python_module_argv, service_process
from aistrale_testkit.tcp_proxy import free_port
from aistrale_userorg.settings import Settings as UserOrgSettings
from bench.admin import ADMIN_EMAIL, AdminClient, admin_password, provision
from bench.catalog import write_models
from bench.cleanup import delete_broker_and_redis_state
from bench.consumers import ConsumerProbe, queue_depths
from bench.cpu import matching
from bench.target import COMPLETIONS, Target, postgres_backends

PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SERVICES = ("user-org", "api-router", "analytics")  # up.sh's order: user-org answers first
SETTINGS: dict[str, type[ServiceSettings]] = {
    "user-org": UserOrgSettings,
    "api-router": RouterSettings,
    "analytics": AnalyticsSettings,
}


def service_env(service: str, env: dict[str, str]) -> dict[str, str]:
    """up.sh gives each process only its own part of the shared environment."""
    others = [cls for name, cls in SETTINGS.items() if name != service]
    return own_environment(env, SETTINGS[service], others)


ROOT = Path(__file__).resolve().parent.parent


def _env(
    workdir: Path, run: str, upstream: str, ports: dict[str, int], password: str
) -> dict[str, str]:
    env = {
        f"AISTRALE_{svc.upper().replace('-', '_')}_DATABASE_URL": f"{PG_SERVER}/{_db(run, svc)}"
        for svc in SERVICES
    }
    return {
        **env,
        "AISTRALE_REDIS_URL": REDIS_URL,
        "AISTRALE_REDIS_PREFIX": f"aistrale-bench:{run}:",
        "AISTRALE_AMQP_URL": AMQP_URL,
        "AISTRALE_USAGE_EXCHANGE": f"bench-{run}.usage",
        "AISTRALE_CONTROL_EXCHANGE": f"bench-{run}.control",
        "AISTRALE_QUEUE_PREFIX": f"bench-{run}.",
        "AISTRALE_USER_ORG_URL": f"http://127.0.0.1:{ports['user-org']}",
        "AISTRALE_DATA_DIR": str(workdir / "data"),  # shared: the services agree on secrets
        "AISTRALE_LOCAL_MODEL": "0",
        "AISTRALE_ADMIN_EMAIL": ADMIN_EMAIL,
        "AISTRALE_ADMIN_PASSWORD": password,
        "AISTRALE_MODELS_FILE": str(write_models(workdir / "models.yaml", upstream)),
    }


def _db(run: str, service: str) -> str:
    return f"aistrale_bench_{run}_{service.replace('-', '_')}"


@contextlib.contextmanager
def _leaves_nothing(run: str, env: dict[str, str]) -> Iterator[None]:
    try:
        yield
    finally:
        delete_broker_and_redis_state(env)
        for service in SERVICES:
            admin_execute(PG_SERVER, f'DROP DATABASE IF EXISTS "{_db(run, service)}" WITH (FORCE)')


def _prepare(env: dict[str, str], workdir: Path) -> None:
    """up.sh's first steps: create the databases, then each service's migrations."""
    urls = [env[f"AISTRALE_{svc.upper().replace('-', '_')}_DATABASE_URL"] for svc in SERVICES]
    creator = [sys.executable, str(ROOT / "infra/local/create_databases.py"), *urls]
    subprocess.run(creator, check=True, env={**os.environ, **env})  # noqa: S603
    with (workdir / "migrate.log").open("ab") as log:
        for service in SERVICES:
            argv = python_module_argv(f"aistrale-{service}", "migrate")
            own = service_env(service, {**os.environ, **env})
            subprocess.run(argv, check=True, env=own, stdout=log, stderr=log)  # noqa: S603


def _wait_ready(url: str, timeout_s: float = 60.0) -> None:
    """Every service's /ready: its database, Redis and RabbitMQ connected."""
    deadline = time.monotonic() + timeout_s
    while httpx.get(url, timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}: {httpx.get(url, timeout=5).text}")
        time.sleep(0.2)


@contextlib.contextmanager
def platform_up(workdir: Path, upstream: str, *, limits: bool = True) -> Iterator[Target]:
    workdir.mkdir(parents=True, exist_ok=True)
    run, password = uuid.uuid4().hex[:8], admin_password()
    ports = {service: free_port() for service in SERVICES}
    env = _env(workdir, run, upstream, ports, password)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_leaves_nothing(run, env))  # after every service has stopped
        _prepare(env, workdir)
        bases = {}
        for service in SERVICES:
            argv = python_module_argv(
                f"aistrale-{service}", "serve", "--no-migrate", "--port", str(ports[service])
            )
            log = workdir / f"{service}.log"
            bases[service] = stack.enter_context(
                service_process(argv, ports[service], service_env(service, env), log_path=log)
            )
        for base in bases.values():
            _wait_ready(base + "/ready")
        admin = AdminClient(bases["user-org"], ADMIN_EMAIL, password)
        stack.callback(admin.close)
        tenant = provision(admin, limits=limits)
        prefix = env["AISTRALE_QUEUE_PREFIX"]
        labels = ("analytics.usage", "user-org.key-last-used")
        queues = {f"queue {label}": prefix + label for label in labels}
        depths = stack.enter_context(queue_depths(AMQP_URL, queues))
        probe = ConsumerProbe(
            admin, tenant, bases["api-router"] + "/metrics", bases["analytics"], depths
        )
        components = {
            service: matching("serve --no-migrate --port", str(ports[service]))
            for service in SERVICES
        }
        components["rabbitmq"] = matching("beam.smp")
        components["postgres"] = postgres_backends(*(_db(run, svc) for svc in SERVICES))
        components["redis"] = matching("redis-server")
        features = {
            "command": "aistrale-<service> serve --no-migrate (make up / infra/local/up.sh)",
            "key_auth": "user-org over HTTP, real org/key/budget via the admin API",
            "usage_events": "RabbitMQ, analytics + last-used consumers",
            "limits_and_budget": "Redis",
            "databases": "Postgres (one database per service, this run's own)",
        }
        url = bases["api-router"] + COMPLETIONS
        databases = tuple(_db(run, svc) for svc in SERVICES)
        yield Target("up", url, tenant.authorization, components, probe, features, databases)
