"""What the bench measures: a URL wrk posts to, and what belongs to it."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.consumers import ConsumerProbe
from bench.cpu import Finder, pids_matching

COMPLETIONS = "/v1/chat/completions"


@dataclass(frozen=True)
class Target:
    name: str
    url: str  # what wrk posts to
    authorization: str | None  # the Authorization header, None: none
    components: Mapping[str, Finder]  # processes whose CPU per request is reported
    consumers: ConsumerProbe | None = None  # None: no consumers behind this target
    features: dict[str, str] = field(default_factory=dict)
    databases: tuple[str, ...] = ()  # this target's own Postgres databases, if any


def with_env(needle: str, assignment: str) -> Finder:
    """Processes whose command line contains `needle` and whose environment holds
    `assignment` (e.g. AISTRALE_PORT=1234): tells this bench's platform from anyone else's."""

    def find() -> list[int]:
        return [pid for pid in pids_matching(needle) if _has_env(pid, assignment.encode())]

    return find


def _has_env(pid: int, assignment: bytes) -> bool:
    with contextlib.suppress(OSError):
        return assignment in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return False


def postgres_backends(*databases: str) -> Finder:
    """Postgres backends serving these databases (the server's title names the database)."""

    def find() -> list[int]:
        return [pid for db in databases for pid in pids_matching("postgres: ", f" {db} ")]

    return find
