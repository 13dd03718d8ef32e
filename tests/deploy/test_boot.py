"""The production overlay boots: each service, as a real process, gets exactly the production
overlay's rendered ConfigMap and pod env plus its `infra/secrets/<service>.example.env` keys,
and becomes ready against the local Postgres, Redis and RabbitMQ, moto's S3 server and an
OTLP/HTTP receiver. Only values change, never keys: cluster addresses become local ones (each
rewrite checks the address it replaces) and placeholders become valid generated secrets, so
that staging/production's checks (AISTRALE_ENVIRONMENT) run for real."""

from __future__ import annotations

import base64
import contextlib
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pyotp
import pytest
from moto.server import ThreadedMotoServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from aistrale_analytics.exports.repository import CSV_COLUMNS
from aistrale_testkit.fixtures import Infra, delete_redis_keys
from aistrale_testkit.processes import ServiceProcess, python_module_argv
from aistrale_testkit.tcp_proxy import free_port

Doc = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("user-org", "api-router", "analytics")
REDIS_DB = 13  # the services' default key prefix, kept apart from `make up`'s database 0


@dataclass
class Receiver:
    """An OTLP/HTTP collector stand-in: keeps every POST to /v1/traces."""

    url: str
    requests: list[ExportTraceServiceRequest]

    def services(self) -> set[str]:
        names = set()
        for request in self.requests:
            for spans in request.resource_spans:
                for attribute in spans.resource.attributes:
                    if attribute.key == "service.name" and spans.scope_spans:
                        names.add(attribute.value.string_value)
        return names


@contextlib.contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            ok = self.path == "/v1/traces"
            if ok and self.headers.get("content-type") == "application/x-protobuf":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200 if ok else 404)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def amqp_vhost(infra: Infra) -> Iterator[str]:
    """A vhost of our own: the overlay sets no queue prefix, so the default queue names must
    not meet another platform's on `/`."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.fail("rabbitmqctl not found: the boot test needs a vhost of its own")
    name = f"aistrale-boot-{uuid.uuid4().hex[:8]}"
    subprocess.run([ctl, "-q", "add_vhost", name], check=True, capture_output=True)
    try:
        perms = ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]
        subprocess.run([ctl, "-q", *perms], check=True, capture_output=True)
        yield infra.amqp_url.rstrip("/") + "/" + name
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", name], check=False, capture_output=True)


def read_env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


@dataclass
class Local:
    """Where the cluster's addresses point in this test."""

    tmp: Path
    ports: dict[str, int]
    database: Callable[[str], str]
    redis_url: str
    amqp_url: str
    s3_url: str
    otlp_url: str
    secrets: dict[str, str]


# Cluster address in the overlay -> the local one. Every rewrite first checks the value it
# replaces, so that a changed overlay is noticed here instead of silently tested around.
CONFIG_REWRITES: dict[str, tuple[str, Callable[[Local, str], str]]] = {
    "AISTRALE_DATA_DIR": ("/data", lambda local, svc: str(local.tmp / svc / "data")),
    "AISTRALE_MODELS_FILE": (
        "/etc/aistrale/models.yaml",
        lambda local, _: str(local.tmp / "models.yaml"),
    ),
    "AISTRALE_USER_ORG_URL": (
        "http://user-org:8081",
        lambda local, _: f"http://127.0.0.1:{local.ports['user-org']}",
    ),
    "AISTRALE_OTLP_ENDPOINT": (
        "http://otel-collector.monitoring:4318",
        lambda local, _: local.otlp_url,
    ),
    "AISTRALE_EXPORTS_S3_ENDPOINT_URL": (
        "https://us-ord-1.linodeobjects.com",
        lambda local, _: local.s3_url,
    ),
}


def _secret_value(key: str, local: Local, service: str) -> str:
    if key.endswith("_DATABASE_URL"):
        return local.database(service.replace("-", "_"))
    generated = {
        "AISTRALE_REDIS_URL": local.redis_url,
        "AISTRALE_AMQP_URL": local.amqp_url,
        "AISTRALE_ADMIN_EMAIL": "boot@example.com",
        "AISTRALE_EXPORTS_S3_ACCESS_KEY_ID": "boot-access-key",
        "AISTRALE_EXPORTS_S3_SECRET_ACCESS_KEY": "boot-secret-key",
        "OPENAI_API_KEY": "sk-boot-openai",
        "ANTHROPIC_API_KEY": "sk-ant-boot",
    }
    if key in generated:
        return generated[key]
    if key in local.secrets:  # shared between services: one value for the platform
        return local.secrets[key]
    pytest.fail(f"{service}'s example secret has {key}: tell the boot test how to fill it")


def _pod(render: Any, service: str) -> Doc:
    [server] = [
        d for d in render.workloads() if d["kind"] != "Job" and d["metadata"]["name"] == service
    ]
    pod: Doc = server["spec"]["template"]["spec"]
    return pod


def service_env(render: Any, service: str, local: Local) -> dict[str, str]:
    """The ConfigMap, the container's own env and the Secret's keys, values made local."""
    config = dict(render.get("ConfigMap", f"{service}-config")["data"])
    for key, (cluster, rewrite) in CONFIG_REWRITES.items():
        if key in config:
            assert config[key] == cluster, f"{service}: {key} is {config[key]}, not {cluster}"
            config[key] = rewrite(local, service)
    container = _pod(render, service)["containers"][0]
    pod_env = {}
    for entry in container.get("env", []):
        if "value" in entry:
            pod_env[entry["name"]] = entry["value"]
        else:
            assert entry["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", entry
            pod_env[entry["name"]] = f"{service}-0"
    example = read_env_file(ROOT / "infra" / "secrets" / f"{service}.example.env")
    assert all("<" in value for value in example.values()), "placeholders only"
    secret = {key: _secret_value(key, local, service) for key in example}
    assert not set(config) & set(secret), "a key is in both the ConfigMap and the Secret"
    return {**config, **pod_env, **secret}


def _argv(render: Any, service: str, port: int) -> list[str]:
    container = _pod(render, service)["containers"][0]
    args = list(container["args"])
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    return python_module_argv(container["command"][0], *args)


@pytest.fixture(scope="module")
def platform(
    deploy_renders: dict[str, Any],
    infra: Infra,
    create_pg_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], dict[str, dict[str, str]], Receiver, str]]:
    render = deploy_renders["overlay/production"]
    tmp = tmp_path_factory.mktemp("boot")
    [models] = [
        c
        for c in render.of_kind("ConfigMap")
        if c["metadata"]["name"].startswith("api-router-models")
    ]
    (tmp / "models.yaml").write_text(models["data"]["models.yaml"])
    redis_url = infra.redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    with contextlib.ExitStack() as stack:
        receiver = stack.enter_context(otlp_receiver())
        s3_url = stack.enter_context(s3_server())
        local = Local(
            tmp=tmp,
            ports={service: free_port() for service in SERVICES},
            database=create_pg_database,
            redis_url=redis_url,
            amqp_url=stack.enter_context(amqp_vhost(infra)),
            s3_url=s3_url,
            otlp_url=receiver.url,
            secrets={
                "AISTRALE_SERVICE_TOKEN": secrets.token_urlsafe(32),
                "AISTRALE_JWT_SECRET": secrets.token_urlsafe(32),
                "AISTRALE_CREDENTIALS_KEK": base64.b64encode(secrets.token_bytes(32)).decode(),
                "AISTRALE_ADMIN_PASSWORD": secrets.token_urlsafe(18),
            },
        )
        envs = {service: service_env(render, service, local) for service in SERVICES}
        _create_bucket(envs["analytics"])
        stack.callback(delete_redis_keys, redis_url, "aistrale:")
        processes = {
            service: ServiceProcess(
                _argv(render, service, local.ports[service]),
                local.ports[service],
                envs[service],
                log_path=tmp / f"{service}.log",
                ready_path="/ready",
            )
            for service in SERVICES
        }
        for process in processes.values():
            stack.callback(process.terminate)
        with ThreadPoolExecutor(len(processes)) as pool:  # migrations and starts overlap
            for started in [pool.submit(_start, p) for p in processes.values()]:
                started.result()
        urls = {service: process.url for service, process in processes.items()}
        yield urls, envs, receiver, s3_url


def _start(process: ServiceProcess) -> None:
    try:
        process.start(180.0)  # seconds when the machine is idle; a loaded CI needs more
    except (TimeoutError, RuntimeError) as error:  # say which check failed, not just "not ready"
        with contextlib.suppress(httpx.HTTPError):
            error.add_note(httpx.get(process.url + "/ready", timeout=5).text)
        raise


def _create_bucket(env: dict[str, str]) -> None:
    client = _s3(env)
    region = env["AISTRALE_EXPORTS_S3_REGION"]
    client.create_bucket(
        Bucket=env["AISTRALE_EXPORTS_S3_BUCKET"],
        CreateBucketConfiguration={"LocationConstraint": region},
    )


def _s3(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["AISTRALE_EXPORTS_S3_ENDPOINT_URL"],
        region_name=env["AISTRALE_EXPORTS_S3_REGION"],
        aws_access_key_id=env["AISTRALE_EXPORTS_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AISTRALE_EXPORTS_S3_SECRET_ACCESS_KEY"],
    )


_ADMIN_SESSIONS: dict[str, dict[str, str]] = {}


def _admin_token(urls: dict[str, str], envs: dict[str, dict[str, str]]) -> dict[str, str]:
    """The platform admin as production requires: signed in with a TOTP code (enrolled once)."""
    base = urls["user-org"]
    if base not in _ADMIN_SESSIONS:
        userorg = envs["user-org"]
        form = {
            "username": userorg["AISTRALE_ADMIN_EMAIL"],
            "password": userorg["AISTRALE_ADMIN_PASSWORD"],
        }
        first = httpx.post(f"{base}/admin/v1/auth/token", data=form, timeout=30)
        assert first.status_code == 200, first.text
        bare = {"authorization": f"Bearer {first.json()['access_token']}"}
        enrol = httpx.post(f"{base}/admin/v1/users/me/mfa/totp", headers=bare, timeout=30)
        assert enrol.status_code == 201, enrol.text
        totp = pyotp.TOTP(enrol.json()["secret"])
        verify = f"{base}/admin/v1/users/me/mfa/totp/verify"
        done = httpx.post(verify, json={"code": totp.now()}, headers=bare, timeout=30)
        assert done.status_code == 200, done.text
        code = totp.at(time.time() + 30)  # the enrolment spent the current step's code
        answer = httpx.post(f"{base}/admin/v1/auth/token", data={**form, "totp": code}, timeout=30)
        assert answer.status_code == 200, answer.text
        _ADMIN_SESSIONS[base] = {"authorization": f"Bearer {answer.json()['access_token']}"}
    return _ADMIN_SESSIONS[base]


def test_every_service_runs_as_production_and_is_ready(platform: Any) -> None:
    urls, envs, _, _ = platform
    for service, url in urls.items():
        assert envs[service]["AISTRALE_ENVIRONMENT"] == "production"
        ready = httpx.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 200, (service, ready.text)


def test_the_router_looks_keys_up_in_user_org(platform: Any) -> None:
    """The service token of both example secrets is one value: the router's lookup works."""
    urls, envs, _, _ = platform
    admin = _admin_token(urls, envs)
    org = httpx.post(f"{urls['user-org']}/admin/v1/orgs", json={"name": "boot-keys"}, headers=admin)
    assert org.status_code == 201, org.text
    keys = f"{urls['user-org']}/admin/v1/orgs/{org.json()['id']}/keys"
    key = httpx.post(keys, json={"name": "boot"}, headers=admin)
    assert key.status_code == 201, key.text
    models = httpx.get(
        f"{urls['api-router']}/v1/models",
        headers={"authorization": f"Bearer {key.json()['key']}"},
        timeout=30,
    )
    assert models.status_code == 200, models.text
    assert "gpt-4o-mini" in {m["id"] for m in models.json()["data"]}


def test_an_export_lands_in_the_bucket_and_downloads(platform: Any) -> None:
    urls, envs, _, _ = platform
    admin = _admin_token(urls, envs)
    org = httpx.post(
        f"{urls['user-org']}/admin/v1/orgs", json={"name": "boot-export"}, headers=admin
    )
    assert org.status_code == 201, org.text
    now = datetime.now(UTC)
    spec = {"start": (now - timedelta(days=1)).isoformat(), "end": now.isoformat()}
    path = f"{urls['analytics']}/analytics/v1/orgs/{org.json()['id']}/exports"
    created = httpx.post(path, json=spec, headers=admin)
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 20
    while (export := httpx.get(f"{path}/{created.json()['id']}", headers=admin).json())[
        "status"
    ] not in {"succeeded", "failed"}:
        assert time.monotonic() < deadline, export
        time.sleep(0.2)
    assert export["status"] == "succeeded", export
    bucket = envs["analytics"]["AISTRALE_EXPORTS_S3_BUCKET"]
    stored = _s3(envs["analytics"]).list_objects_v2(Bucket=bucket).get("Contents", [])
    assert len(stored) == 1, stored
    download = httpx.get(export["url"], timeout=10)
    assert download.status_code == 200
    assert download.text.splitlines() == [",".join(CSV_COLUMNS)]  # the header: no usage yet


def test_traces_reach_the_collector_over_otlp_http(platform: Any) -> None:
    urls, envs, receiver, _ = platform
    _admin_token(urls, envs)  # user-org serves a request, so it has a span to send
    httpx.get(f"{urls['analytics']}/analytics/v1/orgs/x/usage", timeout=10)
    deadline = time.monotonic() + 15  # the batch processor sends every 5 s
    while not {"user-org", "analytics"} <= receiver.services():
        assert time.monotonic() < deadline, f"spans only from {receiver.services()}"
        time.sleep(0.2)


def test_reconciliation_runs_against_the_routers_redis(platform: Any) -> None:
    urls, _, _, _ = platform
    deadline = time.monotonic() + 15
    while True:
        metrics = httpx.get(f"{urls['analytics']}/metrics", timeout=10).text
        runs = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("aistrale_analytics_reconcile_runs_total") and 'outcome="ok"' in line
        ]
        if runs and runs[0] >= 1:
            return
        assert time.monotonic() < deadline, [m for m in metrics.splitlines() if "reconcile" in m]
        time.sleep(0.2)
