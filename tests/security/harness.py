"""user-org and analytics as real processes on Postgres, Redis and RabbitMQ (as `make up`)."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.tcp_proxy import free_port
from aistrale_testkit.userorg import ADMIN_EMAIL, ADMIN_PASSWORD

SERVICE_TOKEN = "security-test-service-token"


@dataclass
class Platform:
    userorg: str
    analytics: str

    def login(self, email: str, password: str) -> dict[str, str]:
        form = {"username": email, "password": password}
        answer = httpx.post(f"{self.userorg}/admin/v1/auth/token", data=form)
        assert answer.status_code == 200, answer.text
        body: dict[str, str] = answer.json()
        return body

    def admin(self) -> dict[str, str]:
        return bearer(self.login(ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _env(infra: Infra, tmp: Path, run: str) -> dict[str, str]:
    return {
        "AISTRALE_ENVIRONMENT": "test",
        "AISTRALE_DATA_DIR": str(tmp),
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_REDIS_URL": infra.redis_url,
        "AISTRALE_REDIS_PREFIX": f"{infra.redis_prefix}{run}:",
        "AISTRALE_CONTROL_EXCHANGE": infra.name(f"{run}.control"),
        "AISTRALE_USAGE_EXCHANGE": infra.name(f"{run}.usage"),
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix(run),
        "AISTRALE_JWT_SECRET": secrets.token_urlsafe(32),
        "AISTRALE_SERVICE_TOKEN": SERVICE_TOKEN,
        "AISTRALE_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def platform(
    infra: Infra, create_pg_database: Callable[[str], str], tmp: Path, run: str
) -> Iterator[Platform]:
    env = _env(infra, tmp, run)
    userorg_port, analytics_port = free_port(), free_port()
    userorg_env = {
        **env,
        "AISTRALE_USER_ORG_DATABASE_URL": create_pg_database(f"{run}_userorg"),
        "AISTRALE_ADMIN_EMAIL": ADMIN_EMAIL,
        "AISTRALE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "AISTRALE_BCRYPT_ROUNDS": "4",
        "AISTRALE_LAST_USED_CONSUMER": "false",
    }
    analytics_env = {
        **env,
        "AISTRALE_ANALYTICS_DATABASE_URL": create_pg_database(f"{run}_analytics"),
        "AISTRALE_USER_ORG_URL": f"http://127.0.0.1:{userorg_port}",
        "AISTRALE_RECONCILE_ENABLED": "false",
        "AISTRALE_CONSUME_USAGE": "false",
        # A long TTL: only the control events can make a change show within a second.
        "AISTRALE_AUTHZ_CACHE_TTL_S": "300",
    }
    userorg_argv = python_module_argv("aistrale-user-org", "serve", "--port", str(userorg_port))
    analytics_argv = python_module_argv(
        "aistrale-analytics", "serve", "--port", str(analytics_port)
    )
    with (
        service_process(
            userorg_argv,
            userorg_port,
            userorg_env,
            log_path=tmp / "userorg.log",
            ready_path="/ready",
        ) as userorg,
        service_process(
            analytics_argv,
            analytics_port,
            analytics_env,
            log_path=tmp / "analytics.log",
            ready_path="/ready",
        ) as analytics,
    ):
        yield Platform(userorg, analytics)


def eventually(check: Callable[[], bool], within_s: float) -> float:
    """Seconds until `check()` held; fails when it did not within `within_s`."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < within_s, f"not within {within_s}s"
        time.sleep(0.02)
    return time.monotonic() - start
