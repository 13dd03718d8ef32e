"""Runs the local model server as a child of the platform, in the background.

install (if needed) -> start `python -m llama_cpp.server` -> wait until /v1/models answers
-> ready; restarted if it dies (bounded), stopped with the platform. The gateway never waits
for any of this: the state is reported by /ready and in the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task
from aistrale_platform.localmodel.installer import Installed, ensure_installed
from aistrale_platform.localmodel.placeholder import placeholder
from aistrale_platform.localmodel.processes import LocalModelError, stop, stop_leftover
from aistrale_platform.localmodel.status import LocalModelStatus, State
from aistrale_platform.settings import Settings

log = get_logger(__name__)

SERVER_MODULE = "llama_cpp.server"
POLL_S = 0.25
RESTART_BACKOFF_S = 2.0


def served_aliases(settings: Settings) -> list[str]:
    if settings.local_model_gguf is not None:
        return [settings.local_model_name or settings.local_model_gguf.stem]
    return list(settings.local_models)


def new_status(settings: Settings) -> LocalModelStatus:
    base_url = f"http://{settings.local_model_host}:{settings.local_model_port}/v1"
    status = LocalModelStatus(model=", ".join(served_aliases(settings)), base_url=base_url)
    if not settings.local_model:
        status.move(State.DISABLED, "AISTRALE_LOCAL_MODEL=0")
    return status


def server_config(settings: Settings, installed: Installed) -> dict[str, object]:
    """llama-cpp-python's --config_file: every model on one server, which loads the first
    and swaps when a request names another (one is in memory at a time).

    `interrupt_requests: false`: by default a request arriving during a stream ends that
    stream with a bare `[DONE]` and no finish_reason, silently for the client; the waiting
    request waits instead."""
    models: list[dict[str, object]] = []
    for model in installed.models:
        entry: dict[str, object] = {
            "model": str(model.gguf),
            "model_alias": model.alias,
            "n_ctx": settings.local_model_ctx,
        }
        if model.chat_format is not None:
            entry["chat_format"] = model.chat_format
        if settings.local_model_threads is not None:
            entry["n_threads"] = settings.local_model_threads
        models.append(entry)
    return {
        "host": settings.local_model_host,
        "port": settings.local_model_port,
        "interrupt_requests": False,
        "models": models,
    }


def server_argv(settings: Settings, installed: Installed) -> list[str]:
    config = settings.local_model_dir / "server.json"
    config.write_text(json.dumps(server_config(settings, installed), indent=2))
    return [str(installed.python), "-m", SERVER_MODULE, "--config_file", str(config)]


@contextlib.asynccontextmanager
async def supervise(settings: Settings, status: LocalModelStatus) -> AsyncIterator[None]:
    """Runs the supervisor for the lifetime of the block; leaving it stops the server."""
    if not settings.local_model:
        yield
        return
    task = asyncio.create_task(Supervisor(settings, status).run(), name="local-model")
    try:
        yield
    finally:
        await stop_task(task)
        if status.state is not State.FAILED:
            status.move(State.STOPPED)


class Supervisor:
    def __init__(self, settings: Settings, status: LocalModelStatus) -> None:
        self.settings = settings
        self.status = status
        self.pid_file = settings.local_model_dir / "server.pid"
        self.log_path = settings.local_model_dir / "server.log"

    async def run(self) -> None:
        try:
            self.status.move(State.INSTALLING, "checking the model server and weights")
            self._check_port_free()
            host, port = self.settings.local_model_host, self.settings.local_model_port
            async with placeholder(host, port, self.status):
                installed = await self._install()
                if installed is None:  # failed: the placeholder stays, saying why
                    await asyncio.Future()
                    return
            await self._serve(installed)
        except (LocalModelError, OSError) as exc:
            log.error("local_model.failed", error=str(exc))
            self.status.move(State.FAILED, str(exc))
        except Exception as exc:  # the task's boundary: report it, never take the gateway down
            log.exception("local_model.crashed")
            self.status.move(State.FAILED, f"{type(exc).__name__}: {exc}")

    async def _install(self) -> Installed | None:
        try:
            return await ensure_installed(self.settings, self.status)
        except (LocalModelError, OSError) as exc:
            log.error("local_model.failed", error=str(exc))
            self.status.move(State.FAILED, str(exc))
            return None

    async def _serve(self, installed: Installed) -> None:
        stop_leftover(self.pid_file, SERVER_MODULE)
        code = 0
        for attempt in range(self.settings.local_model_max_restarts + 1):
            if attempt:
                self.status.move(State.LOADING, f"restarting after exit code {code}")
                await asyncio.sleep(RESTART_BACKOFF_S * attempt)
            code = await self._serve_once(installed)
            log.warning("local_model.exited", code=code, attempt=attempt)
        raise LocalModelError(f"server kept exiting (last code {code}): {self._log_tail()}")

    async def _serve_once(self, installed: Installed) -> int:
        self._check_port_free()
        argv = server_argv(self.settings, installed)
        self.status.move(State.LOADING, f"starting {SERVER_MODULE} on {self.status.base_url}")
        with self.log_path.open("ab") as server_log:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdout=server_log,
                stderr=server_log,
                start_new_session=True,  # stopped as a group; Ctrl+C reaches the platform only
            )
        self.pid_file.write_text(str(proc.pid))
        try:
            await self._wait_ready(proc)
            return await proc.wait()
        finally:
            await stop(proc)
            with contextlib.suppress(OSError):
                self.pid_file.unlink()

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        started = time.monotonic()
        deadline = started + self.settings.local_model_ready_timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while proc.returncode is None:
                with contextlib.suppress(httpx.HTTPError):
                    answer = await client.get(f"{self.status.base_url}/models")
                    if answer.status_code == 200:
                        seconds = round(time.monotonic() - started, 1)
                        log.info("local_model.ready", model=self.status.model, load_s=seconds)
                        self.status.move(State.READY, f"loaded in {seconds}s")
                        return
                if time.monotonic() > deadline:
                    raise LocalModelError(f"no answer from the server: {self._log_tail()}")
                await asyncio.sleep(POLL_S)

    def _check_port_free(self) -> None:
        # A busy port would make the server exit at once with a message few would find.
        with socket.socket() as sock:
            # As servers do: connections of a previous run in TIME_WAIT must not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.settings.local_model_host, self.settings.local_model_port))
            except OSError as exc:
                port = self.settings.local_model_port
                raise LocalModelError(
                    f"port {port} is in use; set AISTRALE_LOCAL_MODEL_PORT (and the base_url "
                    f"in the models file) or AISTRALE_LOCAL_MODEL=0"
                ) from exc

    def _log_tail(self, lines: int = 8) -> str:
        return " | ".join(_tail(self.log_path, lines))


def _tail(path: Path, lines: int) -> list[str]:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace").splitlines()[-lines:]
    return []
