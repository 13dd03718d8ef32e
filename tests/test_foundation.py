"""The three services as real processes on real ports: against Postgres, Redis and RabbitMQ
(`make up`), and all in one process with the embedded adapters (`make run`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.tcp_proxy import TcpProxy, free_port, tcp_proxy

SERVICES = {"api-router": "API_ROUTER", "user-org": "USER_ORG", "analytics": "ANALYTICS"}


def _via(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(
        netloc=parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    ).geturl()


@pytest.fixture
def proxies(infra: Infra) -> Iterator[dict[str, TcpProxy]]:
    targets = {
        name: urlsplit(url)
        for name, url in (
            ("postgres", infra.postgres_url),
            ("redis", infra.redis_url),
            ("amqp", infra.amqp_url),
        )
    }
    with (
        tcp_proxy(targets["postgres"].hostname or "", targets["postgres"].port or 0) as pg,
        tcp_proxy(targets["redis"].hostname or "", targets["redis"].port or 0) as rd,
        tcp_proxy(targets["amqp"].hostname or "", targets["amqp"].port or 0) as mq,
    ):
        yield {"postgres": pg, "redis": rd, "amqp": mq}


def _wait_status(url: str, status: int, timeout_s: float = 15.0) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = httpx.get(url, timeout=5.0)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_process_reports_its_dependencies(
    service: str,
    infra: Infra,
    proxies: dict[str, TcpProxy],
    create_pg_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    db_url = _via(proxies["postgres"], create_pg_database(service.replace("-", "_")))
    port = free_port()
    env = {
        f"AISTRALE_{SERVICES[service]}_DATABASE_URL": db_url,
        "AISTRALE_REDIS_URL": _via(proxies["redis"], infra.redis_url),
        "AISTRALE_REDIS_PREFIX": infra.redis_prefix,
        "AISTRALE_AMQP_URL": _via(proxies["amqp"], infra.amqp_url),
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix(service),
        "AISTRALE_DATA_DIR": str(tmp_path / "data"),
    }
    argv = python_module_argv(f"aistrale-{service}", "serve", "--port", str(port))
    with service_process(argv, port, env, log_path=tmp_path / "service.log") as base:
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        ready = _wait_status(f"{base}/ready", 200)
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) >= {"database", "event_bus"}
        metrics = httpx.get(f"{base}/metrics").text
        assert f"aistrale_{service.replace('-', '_')}_http_requests_total" in metrics

        proxies["postgres"].cut()
        down = _wait_status(f"{base}/ready", 503)
        assert down.status_code == 503
        assert down.json()["checks"]["database"].startswith("error")
        proxies["postgres"].restore()
        assert _wait_status(f"{base}/ready", 200, timeout_s=30).status_code == 200


def test_router_ready_reports_redis(
    infra: Infra,
    proxies: dict[str, TcpProxy],
    create_pg_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        "AISTRALE_API_ROUTER_DATABASE_URL": create_pg_database("router_redis"),
        "AISTRALE_REDIS_URL": _via(proxies["redis"], infra.redis_url),
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix("router-redis"),
        "AISTRALE_DATA_DIR": str(tmp_path / "data"),
    }
    argv = python_module_argv("aistrale-api-router", "serve", "--port", str(port))
    with service_process(argv, port, env, log_path=tmp_path / "router.log") as base:
        assert _wait_status(f"{base}/ready", 200).status_code == 200
        proxies["redis"].cut()
        down = _wait_status(f"{base}/ready", 503)
        assert down.json()["checks"]["limits"].startswith("error")
        proxies["redis"].restore()
        assert _wait_status(f"{base}/ready", 200, timeout_s=30).status_code == 200


def test_platform_serves_every_service_on_one_port(tmp_path: Path) -> None:
    port = free_port()
    # The local model is off: its first start installs a compiled server (services/platform).
    env = {
        "AISTRALE_PORT": str(port),
        "AISTRALE_DATA_DIR": str(tmp_path / "data"),
        "AISTRALE_LOCAL_MODEL": "0",
    }
    argv = python_module_argv("aistrale-platform", "run")
    with service_process(argv, port, env, log_path=tmp_path / "platform.log") as base:
        ready = httpx.get(f"{base}/ready").json()
        assert ready["status"] == "ready"
        assert set(ready["services"]) == {"api-router", "user-org", "analytics"}
        for prefix in ("/v1", "/admin/v1", "/analytics/v1"):
            assert httpx.get(f"{base}{prefix}/openapi.json").status_code == 200
        missing = httpx.get(f"{base}/v1/no-such-route")
        assert missing.status_code == 404
        assert missing.json()["error"]["type"] == "invalid_request_error"
        assert missing.headers["x-request-id"]
        metrics = httpx.get(f"{base}/metrics").text
        for service in ("api_router", "user_org", "analytics"):
            assert f"aistrale_{service}_http_requests_total" in metrics
    assert (tmp_path / "data" / "user-org.db").exists()
