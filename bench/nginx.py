"""nginx twice: as the mock upstream (fixed answers from `return`) and as the reference
reverse proxy in front of it (keep-alive both sides). One worker process each.

The mock is nginx because it must not be the bottleneck: the Python mock
(bench/mock_upstream.py) holds wrk to a few thousand requests per second on this machine,
below what nginx relays (docs/decisions/bench-what-users-run.md).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from string import Template

from aistrale_testkit.processes import service_process
from bench.mock_upstream import COMPLETION, MODELS

_COMMON = """
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $prefix/body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
$server
}
"""

PROXY = """
    upstream mock { server 127.0.0.1:$upstream_port; keepalive 128; }
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
"""

# The answers of bench/mock_upstream.py; `return` discards the request body (keep-alive safe).
MOCK = """
    default_type application/json;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /health { return 200 '{}'; }
        location = /v1/models { return 200 '$models'; }
        location = /metrics { default_type text/plain; return 200 ''; }
        location / { return 200 '$completion'; }
    }
"""


def locate_nginx() -> str:
    """nginx on PATH or in /usr/sbin (bench/install-tools.sh installs it from apt)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise RuntimeError("nginx not found: run bash bench/install-tools.sh (make bench does)")
    return found


def render(server: str, prefix: Path, **values: object) -> str:
    body = Template(server).substitute(
        models=MODELS.decode(), completion=COMPLETION.decode(), **values
    )
    return Template(_COMMON).substitute(prefix=prefix, server=body)


@contextlib.contextmanager
def _nginx(workdir: Path, name: str, port: int, config: str) -> Iterator[str]:
    prefix = workdir / name
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    argv = [locate_nginx(), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    check = subprocess.run([*argv[:-2], "-t"], capture_output=True, text=True, check=False)  # noqa: S603
    if check.returncode != 0:
        raise RuntimeError(f"nginx config {conf} refused:\n{check.stderr}")
    with service_process(argv, port, {}, log_path=prefix / "stderr.log", timeout_s=10) as url:
        yield url


@contextlib.contextmanager
def run_mock(workdir: Path, port: int) -> Iterator[str]:
    """The mock upstream; ready when it answers /health."""
    prefix = workdir / "mock"
    with _nginx(workdir, "mock", port, render(MOCK, prefix, port=port)) as url:
        yield url


@contextlib.contextmanager
def run_nginx(workdir: Path, port: int, upstream_port: int) -> Iterator[str]:
    """The reference proxy; ready when it relays the mock's /health."""
    prefix = workdir / "nginx"
    config = render(PROXY, prefix, port=port, upstream_port=upstream_port)
    with _nginx(workdir, "nginx", port, config) as url:
        yield url
