"""`make run` on SIGTERM (Ctrl+C, `make down`): the single-process platform drains the way
the router alone does. A stream longer than the grace ends with the router's explicit
`server_shutting_down` error event, a short one ends whole, and both are in analytics'
database when the process has exited."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import openai
import yaml

from aistrale_common.testing.processes import python_module_argv, running_service
from aistrale_common.testing.tcp_proxy import free_port
from aistrale_router.testing.fake_vllm import REPLY, FakeVllm
from aistrale_router.testing.server import serve_in_thread

GRACE_S = 4.0


def test_make_run_ends_long_streams_explicitly_and_keeps_their_usage(tmp_path: Path) -> None:
    vllm = FakeVllm(word_delay_s=0.1)  # the short stream: about 1.4 s; the long one: 28 s
    with serve_in_thread(vllm.app) as vllm_url:
        models = tmp_path / "models.yaml"
        deployment = {"provider": "vllm", "base_url": f"{vllm_url}/v1", "model": "fake-chat"}
        pricing = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 1_000_000}
        catalog = {"models": [{"name": "m", "deployments": [deployment], "pricing": pricing}]}
        models.write_text(yaml.safe_dump(catalog))
        port = free_port()
        env = {
            "AISTRALE_PORT": str(port),
            "AISTRALE_DATA_DIR": str(tmp_path / "data"),
            "AISTRALE_MODELS_FILE": str(models),
            "AISTRALE_LOCAL_MODEL": "0",
            "AISTRALE_SHUTDOWN_GRACE_S": str(GRACE_S),
        }
        argv = python_module_argv("aistrale-platform", "run")
        log = tmp_path / "platform.log"
        with running_service(argv, port, env, log_path=log, timeout_s=60) as platform:
            client = openai.OpenAI(
                base_url=f"{platform.url}/v1", api_key=_key(platform.url, tmp_path), max_retries=0
            )
            outcomes: dict[str, object] = {}
            short = _in_thread(client, "hi", outcomes, "short")
            long = _in_thread(client, "SLOW_STREAM", outcomes, "long")
            deadline = time.monotonic() + 20
            while len(vllm.log.words_streamed) + vllm.log.running < 2:
                assert time.monotonic() < deadline, platform.log()
                time.sleep(0.05)
            platform.proc.send_signal(signal.SIGTERM)
            for thread in (short, long):
                thread.join(GRACE_S + 20)
            assert platform.proc.wait(30) in (0, -signal.SIGTERM), platform.log()
            client.close()

    assert outcomes["short"] == REPLY, outcomes
    error = outcomes["long"]
    assert isinstance(error, openai.APIError) and not isinstance(error, openai.APIConnectionError)
    assert isinstance(error.body, dict) and error.body["code"] == "server_shutting_down"
    with sqlite3.connect(tmp_path / "data" / "analytics.db") as db:
        rows = db.execute("SELECT status, error_type, stream FROM usage_events").fetchall()
    assert sorted(rows, key=str) == sorted(
        [(200, None, 1), (503, "server_shutting_down", 1)], key=str
    )


def _in_thread(
    client: openai.OpenAI, prompt: str, outcomes: dict[str, object], name: str
) -> threading.Thread:
    def run() -> None:
        try:
            stream = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": prompt}], stream=True
            )
            outcomes[name] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        except openai.APIError as exc:
            outcomes[name] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _key(base: str, tmp_path: Path) -> str:
    admin = json.loads((tmp_path / "data" / "admin.json").read_text())
    login = {"username": admin["email"], "password": admin["password"]}
    token = httpx.post(f"{base}/admin/v1/auth/token", data=login).json()["access_token"]
    headers = {"authorization": f"Bearer {token}"}
    org = httpx.post(f"{base}/admin/v1/orgs", json={"name": "demo"}, headers=headers).json()
    key = httpx.post(
        f"{base}/admin/v1/orgs/{org['id']}/keys", json={"name": "laptop"}, headers=headers
    )
    assert key.status_code == 201, key.text
    return str(key.json()["key"])
