"""`make run` on SIGTERM (Ctrl+C, `make down`): the single-process platform drains the way
the router alone does. A stream longer than the grace ends with the router's explicit
`server_shutting_down` error event, a short one ends whole, and both are in analytics'
database when the process has exited."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import openai
import yaml

from aistrale_testkit.processes import python_module_argv, running_service
from aistrale_testkit.router.fake_vllm import REPLY, FakeVllm
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

GRACE_S = 4.0


def test_make_run_ends_long_streams_explicitly_and_keeps_their_usage(tmp_path: Path) -> None:
    vllm = FakeVllm(word_delay_s=0.1)  # the short stream: about 1.4 s; the long one: 28 s
    with serve_in_thread(vllm.app) as vllm_url:
        env = _platform_env(tmp_path, vllm_url)
        port = int(env["AISTRALE_PORT"])
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


def test_make_run_stores_every_usage_event_of_a_burst_that_ends_at_sigterm(
    tmp_path: Path,
) -> None:
    """The router flushes its last usage events to the in-process bus as it stops; analytics
    stops after it and stores them, so nothing answered is missing from analytics."""
    vllm = FakeVllm()
    with serve_in_thread(vllm.app) as vllm_url:
        env = _platform_env(tmp_path, vllm_url)
        argv = python_module_argv("aistrale-platform", "run")
        log = tmp_path / "platform.log"
        with running_service(argv, int(env["AISTRALE_PORT"]), env, log_path=log) as platform:
            answered = asyncio.run(_burst(platform.url, _key(platform.url, tmp_path), 600))
            platform.proc.send_signal(signal.SIGTERM)  # analytics is still catching up
            assert platform.proc.wait(30) in (0, -signal.SIGTERM), platform.log()
    assert answered == [200] * 600
    with sqlite3.connect(tmp_path / "data" / "analytics.db") as db:
        (stored,) = db.execute("SELECT count(*) FROM usage_events WHERE status = 200").fetchone()
    assert stored == 600


async def _burst(base: str, key: str, requests: int) -> list[int]:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(
        base_url=base, headers={"authorization": f"Bearer {key}"}, timeout=30
    ) as http:

        async def one() -> int:
            async with limit:
                return (await http.post("/v1/chat/completions", json=body)).status_code

        return list(await asyncio.gather(*(one() for _ in range(requests))))


def _platform_env(tmp_path: Path, vllm_url: str) -> dict[str, str]:
    models = tmp_path / "models.yaml"
    deployment = {"provider": "vllm", "base_url": f"{vllm_url}/v1", "model": "fake-chat"}
    pricing = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 1_000_000}
    catalog = {"models": [{"name": "m", "deployments": [deployment], "pricing": pricing}]}
    models.write_text(yaml.safe_dump(catalog))
    return {
        "AISTRALE_PORT": str(free_port()),
        "AISTRALE_DATA_DIR": str(tmp_path / "data"),
        "AISTRALE_MODELS_FILE": str(models),
        "AISTRALE_LOCAL_MODEL": "0",
        "AISTRALE_SHUTDOWN_GRACE_S": str(GRACE_S),
    }


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
