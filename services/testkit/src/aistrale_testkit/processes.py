"""Start a service as a real process on a real port, and wait until it answers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings

from aistrale_common.settings import variable_names


def own_environment(
    shared: Mapping[str, str],
    own: type[BaseSettings],
    others: Iterable[type[BaseSettings]],
) -> dict[str, str]:
    """One service's part of an environment written for several (`make up`'s topology):
    the other services' own settings left out, since each process refuses the names it does
    not know. Everything else stays, unknown names included (they must still be refused)."""
    mine = variable_names(own)
    theirs: set[str] = set().union(*(variable_names(other) for other in others)) - mine
    return {name: value for name, value in shared.items() if name.upper() not in theirs}


@contextlib.contextmanager
def service_process(
    argv: Sequence[str],
    port: int,
    env: Mapping[str, str],
    *,
    log_path: Path,
    ready_path: str = "/health",
    timeout_s: float = 60.0,
) -> Iterator[str]:
    """Yields the base URL once `ready_path` answers 200; SIGTERM (then SIGKILL) at exit."""
    with running_service(
        argv, port, env, log_path=log_path, ready_path=ready_path, timeout_s=timeout_s
    ) as running:
        yield running.url


@contextlib.contextmanager
def running_service(
    argv: Sequence[str],
    port: int,
    env: Mapping[str, str],
    *,
    log_path: Path,
    ready_path: str = "/health",
    timeout_s: float = 60.0,
) -> Iterator[ServiceProcess]:
    """`service_process` for a test that signals the process itself (it may exit early)."""
    service = ServiceProcess(argv, port, env, log_path=log_path, ready_path=ready_path)
    try:
        yield service.start(timeout_s)
    finally:
        service.terminate()


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout_s}s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 40) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def python_module_argv(script: str, *args: str) -> list[str]:
    """The console script installed beside this interpreter (works in any venv)."""
    return [str(Path(sys.executable).parent / script), *args]


class ServiceProcess:
    """A service as a process that a test may stop, pause, kill and start again on the same
    port (fault tests): `start` returns once `ready_path` answers 200."""

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        env: Mapping[str, str],
        *,
        log_path: Path,
        ready_path: str = "/health",
    ) -> None:
        self.argv, self.port, self.env = list(argv), port, dict(env)
        self.log_path, self.ready_path = log_path, ready_path
        self.url = f"http://127.0.0.1:{port}"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self._proc is not None, "not started"
        return self._proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, timeout_s: float = 60.0) -> ServiceProcess:
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            _wait_ready(self._proc, self.url + self.ready_path, timeout_s, self.log_path)
        except BaseException:
            self.terminate()
            raise
        return self

    def terminate(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after `timeout_s`; the exit code."""
        return stop_process(self._proc, timeout_s) if self._proc is not None else 0

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.pid}")

    def log(self, lines: int = 200) -> str:
        return _tail(self.log_path, lines)
