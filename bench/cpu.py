"""CPU time of a process, from /proc: on a shared machine, CPU per request is the steadiest
measure of what the gateway itself costs (wall-clock latency includes waiting for a core)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return total


def pids_matching(*needles: str) -> list[int]:
    """Processes whose command line contains every needle (arguments joined by spaces)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if all(n in cmdline for n in needles):
                found.append(int(entry.name))
    return found
