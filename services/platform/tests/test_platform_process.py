"""`aistrale-platform run` as a real process: it serves at once while the local model loads,
says so in /ready and in its banner, and takes the model server down with it."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openai import APIStatusError, OpenAI

from aistrale_platform.localmodel.installer import MARKER, weights_home
from aistrale_platform.localmodel.weights import PACKAGED
from aistrale_platform.settings import Settings
from aistrale_testkit.processes import python_module_argv, service_process, stop_process
from aistrale_testkit.tcp_proxy import free_port

STANDIN = Path(__file__).parent / "standin"
STANDIN_TEXT = " Paris, the city of light."  # what the stand-in always answers
REPO_MODELS = Path(__file__).parents[3] / "models.yaml"
MODEL = "smollm2-135m"  # the default local model (models.yaml)
SERVING_WITHIN_S = 30.0  # generous: 2 cores shared with other test runs


def _wait_model(base: str, state: str, timeout_s: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        model: dict[str, object] = httpx.get(f"{base}/ready").json()["components"]["local-model"]
        if model["state"] == state or time.monotonic() > deadline:
            return model
        time.sleep(0.2)


def _eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _seed_install_cache(cache: Path) -> Path:
    """The weights as a first start leaves them; returns the lock file of their directory."""
    settings = Settings(local_model_cache_dir=cache)
    home = weights_home(settings)
    for name in settings.local_models:
        PACKAGED[name].path(home).parent.mkdir(parents=True, exist_ok=True)
        PACKAGED[name].path(home).write_bytes(b"GGUF")
    (home / MARKER).write_text("{}")
    return home.parent / f"{home.name}.lock"


def test_platform_serves_while_the_local_model_loads(tmp_path: Path) -> None:
    port, model_port = free_port(), free_port()
    models = tmp_path / "models.yaml"  # the repository's catalog, on this run's port
    models.write_text(REPO_MODELS.read_text().replace(":8090/", f":{model_port}/"))
    env = {
        "AISTRALE_PORT": str(port),
        "AISTRALE_DATA_DIR": str(tmp_path / "data"),
        "AISTRALE_LOG_JSON": "false",
        "AISTRALE_MODELS_FILE": str(models),
        "AISTRALE_HEALTH_PROBE_INTERVAL_S": "0.3",
        "AISTRALE_LOCAL_MODEL_PYTHON": sys.executable,
        "AISTRALE_LOCAL_MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "AISTRALE_LOCAL_MODEL_PORT": str(model_port),
        "PYTHONPATH": str(STANDIN),  # the stand-in `llama_cpp.server`
        "STANDIN_LOADED_WHEN": str(tmp_path / "loaded"),  # the model loads when we say
    }
    log = tmp_path / "platform.log"
    argv = python_module_argv("aistrale-platform", "run")
    started = time.monotonic()
    # "Another platform" holds the install lock: this one stays `installing` until we let go.
    with _seed_install_cache(tmp_path / "cache").open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        with service_process(argv, port, env, log_path=log, timeout_s=SERVING_WITHIN_S) as base:
            ready = httpx.get(f"{base}/ready")
            serving_s = time.monotonic() - started
            assert ready.status_code == 200, ready.text
            model = ready.json()["components"]["local-model"]
            assert model["state"] == "installing", model  # not waited for
            assert model["base_url"] == f"http://127.0.0.1:{model_port}/v1"
            _docs_and_landing_page_work_offline(base)
            _one_metrics_exposition(base)
            key = _first_key(base, tmp_path)
            _a_key_without_bearer_gets_a_hint(base, key)
            client = OpenAI(base_url=f"{base}/v1", api_key=key)
            assert _eventually(lambda: _model_ready(client) is False)  # after the router's probe
            _installing_says_so(client)

            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            assert _wait_model(base, "loading")["state"] == "loading"
            (tmp_path / "loaded").touch()
            model = _wait_model(base, "ready")
            assert model["state"] == "ready", model
            assert _eventually(lambda: _model_ready(client) is True)
            answer = client.completions.create(model=MODEL, prompt="The capital of France is")
            assert answer.choices[0].text == STANDIN_TEXT
    assert _refuses(model_port)  # stopped with the platform

    banner = log.read_text()
    assert f'local model "{MODEL}" is ready' in banner
    print(f"serving after {serving_s:.1f}s")


def _a_key_without_bearer_gets_a_hint(base: str, key: str) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    refused = httpx.post(f"{base}/v1/chat/completions", json=body, headers={"authorization": key})
    assert refused.status_code == 401
    message = refused.json()["error"]["message"]
    assert "Authorization: Bearer sk-" in message and key not in message


def _installing_says_so(client: OpenAI) -> None:
    """The message of the local model's placeholder reaches the client: what is happening and
    where to look, not "could not be reached". (The status and Retry-After the client gets
    are the router's mapping of the placeholder's 503.)"""
    with pytest.raises(APIStatusError) as refused:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    message = str(refused.value.message)
    assert f"The local model ({MODEL}) is installing" in message, message
    assert "GET /ready" in message


def _docs_and_landing_page_work_offline(base: str) -> None:
    landing = httpx.get(f"{base}/")
    assert landing.status_code == 200
    for link in ("/console/", "/v1/docs", "/admin/v1/docs", "/analytics/v1/docs", "/ready"):
        assert f'href="{link}"' in landing.text
    for prefix in ("/v1", "/admin/v1", "/analytics/v1"):
        page = httpx.get(f"{base}{prefix}/docs")
        assert page.status_code == 200
        # Every file the page loads comes from this server: no CDN, so it works offline.
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith(f"{prefix}/docs/assets/") for s in sources), sources
        for source in sources:
            assert httpx.get(f"{base}{source}").status_code == 200, source
        spec = httpx.get(f"{base}{prefix}/openapi.json").json()
        assert spec["paths"], f"{prefix}: no operations in the spec"
    assert "/v1/chat/completions" in httpx.get(f"{base}/v1/openapi.json").json()["paths"]


def _first_key(base: str, tmp_path: Path) -> str:
    """The first hour as the banner tells it: the generated admin, an org, a key."""
    admin = json.loads((tmp_path / "data" / "admin.json").read_text())
    assert f"admin@localhost / {admin['password']}" in (tmp_path / "platform.log").read_text()
    login = {"username": admin["email"], "password": admin["password"]}
    token = httpx.post(f"{base}/admin/v1/auth/token", data=login).json()["access_token"]
    headers = {"authorization": f"Bearer {token}"}
    org = httpx.post(f"{base}/admin/v1/orgs", json={"name": "demo"}, headers=headers)
    assert org.status_code == 201, org.text
    key = httpx.post(
        f"{base}/admin/v1/orgs/{org.json()['id']}/keys", json={"name": "laptop"}, headers=headers
    )
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


def _model_ready(client: OpenAI) -> object:
    cards = {m.id: m for m in client.models.list().data}
    return getattr(cards[MODEL], "ready", None)


def test_local_model_alone_for_make_up_stops_on_sigterm(tmp_path: Path) -> None:
    model_port = free_port()
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    env = {
        **os.environ,
        "AISTRALE_DATA_DIR": str(tmp_path / "data"),
        "AISTRALE_LOCAL_MODEL_PYTHON": sys.executable,
        "AISTRALE_LOCAL_MODEL_GGUF": str(gguf),
        "AISTRALE_LOCAL_MODEL_NAME": MODEL,
        "AISTRALE_LOCAL_MODEL_PORT": str(model_port),
        "PYTHONPATH": str(STANDIN),
    }
    argv = python_module_argv("aistrale-platform", "local-model")
    with (tmp_path / "local-model.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        models = f"http://127.0.0.1:{model_port}/v1/models"
        deadline = time.monotonic() + 30
        while _refuses(model_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(models).json()["data"][0]["id"] == MODEL
        proc.send_signal(signal.SIGTERM)  # what `make down` sends
        assert proc.wait(timeout=20) == 0
    finally:
        stop_process(proc)
    assert _refuses(model_port)


def _one_metrics_exposition(base: str) -> None:
    """Three services in one process: their series, and the process's collectors once (a
    family named twice makes Prometheus refuse the whole scrape)."""
    text = httpx.get(f"{base}/metrics").text
    families = re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE)
    assert len(families) == len(set(families)), sorted(f for f in families if families.count(f) > 1)
    for name in ("process_resident_memory_bytes", "python_gc_collections_total"):
        assert name in families
    services = ("aistrale_api_router_", "aistrale_user_org_", "aistrale_analytics_")
    assert all(any(f.startswith(s) for f in families) for s in services)
