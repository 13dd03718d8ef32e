"""A `make run` started by a test as a user starts it (the newcomer's README, the console's
browser tests): wait until a path answers, stop it as Ctrl+C would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest


def wait_answering(
    url: str, proc: subprocess.Popen[bytes], log: Path, within_s: float, poll_s: float = 0.3
) -> None:
    """Until `url` answers 200; fails with the log's tail when make exits or time runs out."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    pytest.fail(f"{url} did not answer within {within_s}s:\n{log.read_text()[-3000:]}")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    # make, uv and the platform are one process group: Ctrl+C reaches them all.
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
