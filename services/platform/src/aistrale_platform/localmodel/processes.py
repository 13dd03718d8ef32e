"""Child processes of the platform: run one with its output as progress, stop one for good."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aistrale_common.logging import get_logger

log = get_logger(__name__)

STOP_GRACE_S = 10.0


class LocalModelError(Exception):
    """The local model could not be installed or started; the gateway keeps serving."""


async def run_with_progress(
    label: str,
    argv: Sequence[str],
    on_line: Callable[[str], None],
    *,
    env: Mapping[str, str] | None = None,
    tail: int = 15,
) -> None:
    """Runs `argv` to the end, handing each output line to `on_line` (pip's progress, for
    instance). Raises LocalModelError with the last lines if it fails; cancelling stops it."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **env} if env else None,  # None: the platform's own environment
        start_new_session=True,  # its own process group: see stop()
    )
    last: list[str] = []
    try:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line:
                last = [*last[-(tail - 1) :], line]
                on_line(line)
        code = await proc.wait()
    finally:
        await stop(proc)
    if code != 0:
        raise LocalModelError(f"{label} exited with {code}: " + " | ".join(last))


async def stop(proc: asyncio.subprocess.Process, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM to the child's whole process group, then SIGKILL after `grace_s`: stopping
    only pip could leave cmake and the compilers it started running. Children are started with
    `start_new_session=True`, so the group is theirs alone. Meant for `finally` blocks: a
    cancelled task has already received its cancellation there, so these awaits complete."""
    if proc.returncode is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()
    # The leader may be gone while members of its group (a compiler) still run.
    _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_leftover(pid_file: Path, marker: str) -> None:
    """Ends a server left running by a platform that was killed (SIGKILL skips our cleanup).
    Only a process whose command line still contains `marker`: pids are reused."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if marker.encode() in cmdline:
            log.warning("local_model.leftover_stopped", pid=pid)
            os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(OSError):
        pid_file.unlink()


def venv_python(venv: Path) -> Path:
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    return venv / scripts / ("python.exe" if sys.platform == "win32" else "python")
