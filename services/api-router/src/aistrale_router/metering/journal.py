"""The usage journal: events this process accepted but has not yet made durable elsewhere
(confirmed by the broker, or stored in the outbox), on local disk, so that a router killed
mid-flight (SIGKILL, OOM) loses none of them.

Every event is appended to the process's own journal file before `submit` returns: one
write(2), no fsync. The kernel keeps what was written when the process dies (not when the
machine dies: that is what the broker and the outbox are for). Once every event appended so
far is durable elsewhere the file is emptied, so in steady state it stays a few KB.

Each process holds an exclusive lock (flock) on its own file for its whole life; a file
whose lock can be taken belongs to a process that is gone. At start the publisher moves such
files' events into the outbox (the consumer dedupes by event id: an event confirmed just
before the kill is delivered twice, never lost) and deletes them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from aistrale_common.events import OutgoingMessage
from aistrale_common.logging import get_logger

log = get_logger(__name__)
SUFFIX = ".usage-journal"


def _line(message: OutgoingMessage) -> bytes:
    # The body is compact JSON (no raw newline); ids and routing keys have no tab.
    return b"%s\t%s\t%s\n" % (
        message.routing_key.encode(),
        (message.message_id or "").encode(),
        message.body,
    )


def _parse(line: bytes) -> OutgoingMessage | None:
    parts = line.split(b"\t", 2)
    if len(parts) != 3 or not parts[2]:
        return None  # a line torn by the kill: its event never left this process
    routing_key, message_id, body = parts
    return OutgoingMessage(routing_key.decode(), body, message_id.decode() or None)


class Journal:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / f"{uuid.uuid4().hex}{SUFFIX}"
        self._fd = -1
        self._written = 0  # appended since the file was last emptied
        self._durable = 0  # of those, made durable elsewhere

    def open(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def append(self, message: OutgoingMessage) -> None:
        os.write(self._fd, _line(message))
        self._written += 1

    def durable(self, count: int) -> None:
        """The `count` oldest events not yet durable now are (published or outboxed)."""
        self._durable += count
        if self._durable >= self._written and self._written:
            os.ftruncate(self._fd, 0)  # O_APPEND: the next write starts the file again
            self._written = self._durable = 0

    def close(self) -> None:
        """At a clean stop, once everything was made durable: nothing is left to recover."""
        if self._fd < 0:
            return
        left = self._written - self._durable
        os.close(self._fd)
        self._fd = -1
        if left <= 0:
            self._path.unlink(missing_ok=True)
        else:  # kept for the next start, as after a kill
            log.warning("usage_journal_left", events=left, path=str(self._path))

    def orphans(self) -> Iterator[tuple[Path, list[OutgoingMessage]]]:
        """Journals of processes that are gone, with their events; delete each path once its
        events are stored."""
        for path in sorted(self._directory.glob(f"*{SUFFIX}")):
            if path == self._path:
                continue
            with _unlocked(path) as messages:
                if messages is not None:
                    yield path, messages


@contextlib.contextmanager
def _unlocked(path: Path) -> Iterator[list[OutgoingMessage] | None]:
    """The file's events if no live process holds it (None if one does), read under its lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None  # its process is alive
            return
        with os.fdopen(os.dup(fd), "rb") as reader:
            lines = reader.read().split(b"\n")
        yield [m for m in (_parse(line) for line in lines if line) if m is not None]
    finally:
        os.close(fd)
