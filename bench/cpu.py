"""CPU time per process and for the whole machine, from /proc: on a shared machine, CPU per
request is the steadiest measure of what each part of the platform costs (wall-clock
latency includes waiting for a core)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
Finder = Callable[[], list[int]]  # looked up at every snapshot: backends come and go


def cpu_seconds(pids: list[int]) -> float:
    return sum(_pid_seconds(pid) for pid in pids)


def _pid_seconds(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


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


def matching(*needles: str) -> Finder:
    return lambda: pids_matching(*needles)


def with_children(*needles: str) -> Finder:
    """The matching processes and their children (nginx: the master names its prefix in
    its command line, the workers do not)."""

    def find() -> list[int]:
        parents = set(pids_matching(*needles))
        children = [pid for pid in pids_matching("") if _parent(pid) in parents]
        return [*parents, *children]

    return find


def _parent(pid: int) -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return 0


@dataclass(frozen=True)
class Snapshot:
    per_pid: dict[str, dict[int, float]]
    machine_s: float


def snapshot(components: Mapping[str, Finder]) -> Snapshot:
    per_pid = {
        name: {pid: _pid_seconds(pid) for pid in find()} for name, find in components.items()
    }
    return Snapshot(per_pid, machine_busy_seconds())


def used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per component between two snapshots; `machine` is every process's, so
    `machine` minus the components is other tenants' load (and ours unaccounted)."""
    spent = {
        name: sum(s - before.per_pid.get(name, {}).get(pid, 0.0) for pid, s in pids.items())
        for name, pids in after.per_pid.items()
    }
    spent["machine"] = after.machine_s - before.machine_s
    return spent
