"""A plain nginx reverse proxy in front of the mock upstream (keep-alive both sides)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from aistrale_common.testing.processes import service_process

CONFIG = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream mock {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 100000;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def locate_nginx() -> str:
    """nginx on PATH or in /usr/sbin; otherwise installed from Debian's packages."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    print("nginx not found: apt-get install -y nginx", flush=True)
    apt = ["apt-get", "install", "-y", "--no-install-recommends", "nginx-light"]
    if subprocess.run(apt, check=False, capture_output=True).returncode != 0:  # noqa: S603
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)  # noqa: S607
        apt[-1] = "nginx"
        subprocess.run(apt, check=True, capture_output=True)  # noqa: S603
    found = shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/bin")
    if not found:
        raise RuntimeError("nginx could not be installed")
    return found


@contextlib.contextmanager
def run_nginx(workdir: Path, port: int, upstream_port: int) -> Iterator[str]:
    binary = locate_nginx()
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(CONFIG.format(prefix=prefix, port=port, upstream_port=upstream_port))
    argv = [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    # Ready when it relays the mock upstream's /health.
    with service_process(argv, port, {}, log_path=prefix / "stderr.log", timeout_s=10) as url:
        yield url
