"""wrk as the load generator: one run per target and concurrency, figures from wrk's own
histogram (bench/wrk/post.lua prints them as one JSON line at the end)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).parent / "wrk" / "post.lua"
MARK = "WRK_JSON "
SOCKET_ERRORS = ("connect", "read", "write", "timeout")


@dataclass(frozen=True)
class WrkResult:
    requests: int  # completed responses, any status
    seconds: float
    non_2xx: int  # wrk's `errors.status`: responses with a status above 399
    socket_errors: int  # connect, read, write and timeout errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    cpu_s: float = 0.0  # wrk's own CPU (user + system), from wait4

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def parse_output(stdout: str, cpu_s: float = 0.0) -> WrkResult:
    """The JSON line of post.lua's `done` hook; wrk's human-readable text is ignored."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        raise ValueError(f"no {MARK.strip()} line in wrk's output:\n{stdout[-2000:]}")
    data = json.loads(lines[-1][len(MARK) :])
    errors, latency = data["errors"], data["latency_us"]
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        non_2xx=int(errors["status"]),
        socket_errors=sum(int(errors[name]) for name in SOCKET_ERRORS),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=round(latency["mean"] / 1000, 4),
        max_ms=latency["max"] / 1000,
        cpu_s=round(cpu_s, 3),
    )


def locate_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk not found: run bash bench/install-tools.sh (make bench does)")
    return found


def argv(url: str, concurrency: int, duration_s: float) -> list[str]:
    """c=1 on one thread; more connections on two (this machine has two cores)."""
    threads = 1 if concurrency == 1 else 2
    return [
        locate_wrk(),
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "5s",
        "-s",
        str(SCRIPT),
        url,
    ]


def run_wrk(
    url: str, concurrency: int, duration_s: float, body_file: Path, authorization: str | None
) -> WrkResult:
    env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
    env["BENCH_AUTHORIZATION"] = authorization or ""
    before = _children_cpu()
    proc = subprocess.Popen(  # noqa: S603
        argv(url, concurrency, duration_s),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + duration_s + 30
    out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}: {err}")
    return parse_output(out, _children_cpu() - before)


def _children_cpu() -> float:
    """CPU of this process's reaped children: wrk is the only child reaped in between (the
    services are children too, but are reaped only when they stop)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
