"""py-spy (from PyPI, run by uvx: nothing is added to the lock) on the platform's Python
processes under load, and the sampled stacks folded into where the time goes: self time per
function, inclusive time per function, self time per package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.areas import by_area

PY_SPY = "py-spy==0.4.3"
RATE_HZ = 100
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _uvx() -> list[str]:
    found = shutil.which("uvx")
    if found:
        return [found]
    uv = shutil.which("uv")
    return [uv, "tool", "run"] if uv else [sys.executable, "-m", "uv", "tool", "run"]


def record(pid: int, seconds: float, out: Path, *, native: bool = False) -> subprocess.Popen[bytes]:
    """Starts sampling in the background. Blocking mode (the process is paused for each
    sample, some µs at RATE_HZ): --nonblocking gave stacks torn between two calls."""
    argv = [*_uvx(), "--from", PY_SPY, "py-spy", "record", "--pid", str(pid)]
    argv += ["--duration", str(max(1, round(seconds))), "--rate", str(RATE_HZ)]
    argv += ["--format", "raw", "--output", str(out), *(["--native"] if native else [])]
    log = out.with_suffix(".log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


@dataclass(frozen=True)
class Profile:
    samples: int
    self_by_function: list[tuple[str, int]]
    inclusive_by_function: list[tuple[str, int]]
    self_by_package: list[tuple[str, int]]
    by_area: list[tuple[str, int]]


def _frame(text: str) -> tuple[str, str]:
    match = _FRAME.match(text)
    return (match["func"], match["file"]) if match else (text, "")


def package(path: str) -> str:
    """The top-level package or module of a frame's file as py-spy shows it (relative to
    its sys.path entry: `asyncpg/connection.py`, `uuid.py`)."""
    top = _short(path).split("/", 1)[0]
    return top.removesuffix(".py") or "?"


def fold(lines: Iterable[str], top: int = 30) -> Profile:
    """Folds py-spy's raw output ("frame;frame;... count" per line, root first)."""
    rows = list(lines)
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in rows:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        func, path = frames[-1]
        self_time[f"{func} ({_short(path)})"] += count
        packages[package(path)] += count
        for name in {f"{f} ({_short(p)})" for f, p in frames}:
            inclusive[name] += count
    return Profile(
        total,
        self_time.most_common(top),
        inclusive.most_common(3 * top),
        packages.most_common(top),
        by_area(rows),
    )


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.rsplit("/lib/", 1)[-1]
